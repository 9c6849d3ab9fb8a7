namespace K8sTraining.Contract;

/// <summary>The learning-rate schedules the trainer can follow (<c>--scheduler</c>, <c>spec.training.scheduler</c>), step by step.</summary>
public static class SchedulerNames
{
    /// <summary>The base learning rate throughout (after any warmup).</summary>
    public const string Constant = "constant";

    /// <summary>Multiplied by gamma every step-size optimizer steps.</summary>
    public const string Step = "step";

    /// <summary>Multiplied by gamma at each milestone step.</summary>
    public const string MultiStep = "multistep";

    /// <summary>Multiplied by gamma per epoch, smoothly step by step.</summary>
    public const string Exponential = "exponential";

    /// <summary>Cosine annealing from the base to the minimum learning rate over the run.</summary>
    public const string Cosine = "cosine";

    /// <summary>Linear decay from the base to the minimum learning rate over the run.</summary>
    public const string Linear = "linear";

    /// <summary>PyTorch's OneCycleLR: learning rate up then down, momentum (SGD momentum or AdamW beta1) the other way.</summary>
    public const string OneCycle = "onecycle";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Constant, Step, MultiStep, Exponential, Cosine, Linear, OneCycle];
}
