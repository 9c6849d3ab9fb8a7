using K8sTraining.Contract;
using K8sTraining.Trainer.Hosting;
using K8sTraining.Trainer.Options;
using K8sTraining.Trainer.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.Write(OptionsParser.Usage());
    return args.Length == 0 ? TrainerExitCodes.InvalidConfiguration : TrainerExitCodes.Completed;
}
if (args[0] != "train")
{
    return InvalidArguments($"command: '{args[0]}' is not allowed; allowed: train", args);
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
using var host = TrainerHost.Build(options);
var holder = host.Services.GetRequiredService<TrainerExitHolder>();
await host.RunAsync();
return holder.Exit?.ExitCode ?? TrainerExitCodes.Failed;

static int InvalidArguments(string message, string[] args)
{
    Console.Error.WriteLine($"error: {message}");
    Console.Error.WriteLine("run with --help for the flags");
    var explicitLog = OptionsParser.TerminationLogFlag(args[1..])
        ?? Environment.GetEnvironmentVariable(TrainerEnvironment.TerminationLog);
    var exit = TrainerExit.For(new TrainingOutcome.Invalid(message, TerminationReasons.InvalidConfiguration), new AttemptRecord(), null);
    TerminationLog.Write(TerminationLog.ResolvePath(explicitLog), exit.Report);
    return exit.ExitCode;
}
