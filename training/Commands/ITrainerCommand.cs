using K8sTraining.Training.Options;

namespace K8sTraining.Training.Commands;

/// <summary>
/// A trainer command besides <c>train</c> (<c>lr-find</c>, <c>evaluate</c>, <c>predict</c>, <c>export</c>): its own
/// flags, parsed beside the train flags it shares (<see cref="OptionsParser.ParseCommand"/>), and what it does.
/// </summary>
public interface ITrainerCommand
{
    /// <summary>The word on the command line.</summary>
    string Name { get; }

    /// <summary>The shape of its command line, for the usage line.</summary>
    string Synopsis { get; }

    /// <summary>One line: what it does.</summary>
    string Summary { get; }

    /// <summary>Its own flags (a flag of train it redefines, such as <c>--output</c>, appears here with its meaning).</summary>
    IReadOnlyList<(string Flag, string Value, string Default, string Help)> Flags { get; }

    /// <summary>
    /// Runs it and returns the exit code. Bad input throws <see cref="InvalidInputException"/> or
    /// <see cref="OptionsException"/> (exit 2 with the message).
    /// </summary>
    Task<int> RunAsync(TrainerOptions options, IReadOnlyDictionary<string, string> own, TextWriter output, CancellationToken cancellationToken);
}
