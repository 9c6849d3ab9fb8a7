using K8sTraining.Contract;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Commands;

/// <summary>The commands besides <c>train</c>, and how one runs: parse, run, and map bad input to exit 2.</summary>
public static class TrainerCommands
{
    public static readonly IReadOnlyList<ITrainerCommand> All =
        [new LrFindCommand(), new EvaluateCommand(), new PredictCommand(), new ExportCommand()];

    /// <summary>The command named <paramref name="name"/>, or null.</summary>
    public static ITrainerCommand? Find(string name) => All.FirstOrDefault(c => c.Name == name);

    public static string Usage(ITrainerCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return OptionsParser.CommandUsage(command.Name, command.Synopsis, command.Summary, command.Flags);
    }

    /// <summary>
    /// Runs <paramref name="command"/> with the arguments after its name; SIGTERM and SIGINT cancel it. Returns the exit
    /// code: 0 done, 2 bad input (the message on stderr), 1 any other error, 75 stopped by a signal.
    /// </summary>
    public static async Task<int> RunAsync(ITrainerCommand command, IReadOnlyList<string> args, Func<string, string?> environment, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(error);
        if (OptionsParser.IsHelpRequest(args))
        {
            await output.WriteAsync(Usage(command)).ConfigureAwait(false);
            return TrainerExitCodes.Completed;
        }
        using var stop = new CancellationTokenSource();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => Stop(c, stop));
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => Stop(c, stop));
        try
        {
            var (options, own) = OptionsParser.ParseCommand(command.Name, command.Flags, args, environment);
            if (options.Threads > 0)
            {
                TorchSharp.torch.set_num_threads(options.Threads);
            }
            return await command.RunAsync(options, own, output, stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OptionsException or InvalidInputException)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            await error.WriteLineAsync($"run '{command.Name} --help' for the flags").ConfigureAwait(false);
            return TrainerExitCodes.InvalidConfiguration;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await error.WriteLineAsync($"{command.Name}: stopped by a signal").ConfigureAwait(false);
            return TrainerExitCodes.Interrupted;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await error.WriteLineAsync($"{command.Name} failed: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
            return TrainerExitCodes.Failed;
        }
    }

    private static void Stop(System.Runtime.InteropServices.PosixSignalContext context, CancellationTokenSource stop)
    {
        context.Cancel = true;
        stop.Cancel();
    }
}
