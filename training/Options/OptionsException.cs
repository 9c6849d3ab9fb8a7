namespace K8sTraining.Training.Options;

/// <summary>A flag or its value is not acceptable; the message names the field, the value and what is allowed.</summary>
public sealed class OptionsException(string message) : Exception(message);
