namespace K8sTraining.Training.Options;

/// <summary>
/// A file or directory the trainer was pointed at cannot be used (a truncated dataset file, a checkpoint directory that
/// is a file or read-only): the user must fix it, retrying cannot help (exit 2). The message names the path and the fix.
/// </summary>
public sealed class InvalidInputException(string message, Exception? inner = null) : Exception(message, inner);
