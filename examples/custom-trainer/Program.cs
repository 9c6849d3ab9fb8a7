using K8sTraining.Training.Hosting;
using K8sTraining.Training.Tasks;
using TorchSharp.Modules;
using static TorchSharp.torch;

// Three interleaved spirals in the plane, classified by a small perceptron. The library does the rest: run it with
// `train --checkpoint-dir DIR --epochs 5`, send SIGTERM, run it again, and it resumes at the next batch.
return await TrainerApp.RunAsync(args, new TrainingTask
{
    ModelName = "spiral-net",
    DatasetName = "spirals",
    LoadData = () => new TrainingData(Train: new Spirals(3000, dataSeed: 1), Test: new Spirals(600, dataSeed: 2)),
    CreateModel = data => new SpiralNet(hidden: 64, classes: data.Train.Classes),
});

/// <summary>Points on three noisy spiral arms; the arm is the label. Generated once, from its own seed.</summary>
internal sealed class Spirals : ITrainingDataset
{
    private const int Arms = 3;
    private readonly float[] _points;
    private readonly long[] _labels;

    public Spirals(int count, int dataSeed)
    {
        var random = new Random(dataSeed);
        _points = new float[count * 2];
        _labels = new long[count];
        for (var i = 0; i < count; i++)
        {
            var arm = i % Arms;
            var radius = random.NextDouble();
            var angle = (radius * 4.0) + (arm * 2.0 * Math.PI / Arms) + (random.NextDouble() * 0.3);
            _points[2 * i] = (float)(radius * Math.Cos(angle));
            _points[(2 * i) + 1] = (float)(radius * Math.Sin(angle));
            _labels[i] = arm;
        }
    }

    public int Count => _labels.Length;

    public IReadOnlyList<long> SampleShape { get; } = [2];

    public int Classes => Arms;

    public long LabelOf(int index) => _labels[index];

    // A little jitter while training, drawn from the sample's own generator: the same on every resume.
    public void Fill(int index, Span<float> input, SampleContext context)
    {
        var jitter = context.Train ? (float)((context.Random.NextDouble() - 0.5) * 0.02) : 0f;
        input[0] = _points[2 * index] + jitter;
        input[1] = _points[(2 * index) + 1] - jitter;
    }
}

/// <summary>2 -> hidden -> hidden -> classes with ReLU. Its field names (fc1, fc2, fc3) are the checkpoint keys.</summary>
internal sealed class SpiralNet : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Linear fc3;

    public SpiralNet(int hidden, int classes)
        : base(nameof(SpiralNet))
    {
        fc1 = nn.Linear(2, hidden);
        fc2 = nn.Linear(hidden, hidden);
        fc3 = nn.Linear(hidden, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(fc1.forward(input));
        x = nn.functional.relu(fc2.forward(x));
        return fc3.forward(x).MoveToOuterDisposeScope();
    }
}
