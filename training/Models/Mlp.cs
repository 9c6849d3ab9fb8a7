using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Models;

/// <summary>784-256-10 perceptron with ReLU; small enough for fast tests. Field names are checkpoint keys.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Flatten flatten = nn.Flatten();
    private readonly Linear fc1 = nn.Linear(28 * 28, 256);
    private readonly Linear fc2 = nn.Linear(256, 10);

    public Mlp()
        : base(nameof(Mlp))
    {
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var flat = flatten.forward(input);
        using var hidden = fc1.forward(flat);
        using var activated = nn.functional.relu(hidden);
        return fc2.forward(activated);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            flatten.Dispose();
            fc1.Dispose();
            fc2.Dispose();
        }
        base.Dispose(disposing);
    }
}
