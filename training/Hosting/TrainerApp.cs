using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace K8sTraining.Training.Hosting;

/// <summary>
/// The one entry point: parses <c>train [flags]</c> (and the TRAINER_* environment the operator sets), then runs the
/// task under the generic host, which turns SIGTERM into a checkpoint and exit 75. Returns the process exit code
/// (<see cref="TrainerExitCodes"/>) and writes the termination message. The other commands (<c>lr-find</c>,
/// <c>evaluate</c>, <c>predict</c>, <c>export</c>: <see cref="Commands.TrainerCommands"/>) run the built-in task's
/// network from the same flags.
/// </summary>
public static class TrainerApp
{
    /// <summary>Runs <paramref name="task"/>, or the built-in models and data sets (<c>--model</c>, <c>--dataset</c>) when null.</summary>
    public static async Task<int> RunAsync(string[] args, TrainingTask? task = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Write(OptionsParser.Usage());
            Console.Write(string.Concat(Commands.TrainerCommands.All.Select(c => $"\nK8sTraining.Trainer {c.Name} {c.Synopsis}\n  {c.Summary} ({c.Name} --help for its flags)\n")));
            return args.Length == 0 ? TrainerExitCodes.InvalidConfiguration : TrainerExitCodes.Completed;
        }
        if (args[0] != "train")
        {
            // The other commands run in the foreground without the host: no checkpoints to write on a signal.
            return Commands.TrainerCommands.Find(args[0]) is { } command
                ? await Commands.TrainerCommands.RunAsync(command, args[1..], Environment.GetEnvironmentVariable, Console.Out, Console.Error).ConfigureAwait(false)
                : InvalidArguments($"command: '{args[0]}' is not allowed; allowed: {string.Join(", ", Commands.TrainerCommands.All.Select(c => c.Name).Prepend("train"))}", args);
        }

        if (OptionsParser.IsHelpRequest(args[1..]))
        {
            Console.Write(OptionsParser.Usage());
            return TrainerExitCodes.Completed;
        }

        TrainerOptions options;
        try
        {
            options = OptionsParser.Parse(args[1..], Environment.GetEnvironmentVariable);
        }
        catch (OptionsException e)
        {
            return InvalidArguments(e.Message, args);
        }

        OpenMpThreads.PreferPassiveWaiting();
        using var host = TrainerHost.Build(options, task);
        var holder = host.Services.GetRequiredService<TrainerExitHolder>();
        await host.RunAsync().ConfigureAwait(false);
        return holder.Exit?.ExitCode ?? TrainerExitCodes.Failed;
    }

    private static int InvalidArguments(string message, string[] args)
    {
        Console.Error.WriteLine($"error: {message}");
        Console.Error.WriteLine("run with --help for the flags");
        var explicitLog = OptionsParser.TerminationLogFlag(args[1..])
            ?? Environment.GetEnvironmentVariable(TrainerEnvironment.TerminationLog);
        var exit = TrainerExit.For(new TrainingOutcome.Invalid(message, TerminationReasons.InvalidConfiguration), new AttemptRecord(), null);
        TerminationLog.Write(TerminationLog.ResolvePath(explicitLog), exit.Report);
        return exit.ExitCode;
    }
}
