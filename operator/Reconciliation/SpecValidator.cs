using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>Checks the spec beyond what the CRD schema can say (and again in case a server did not apply the schema).</summary>
public static class SpecValidator
{
    public static IReadOnlyList<string> Validate(TrainingJobSpec? spec)
    {
        var errors = new List<string>();
        if (spec is null)
        {
            errors.Add("spec is required");
            return errors;
        }

        var t = spec.Training;
        if (t is null)
        {
            errors.Add("spec.training is required");
        }
        else
        {
            CheckOneOf(errors, "spec.training.model", t.Model, TrainingSpec.Models);
            CheckOneOf(errors, "spec.training.dataset", t.Dataset, TrainingSpec.Datasets);
            CheckOneOf(errors, "spec.training.optimizer", t.Optimizer, TrainingSpec.Optimizers);
            if (t.Dataset == "fashion-mnist" && string.IsNullOrWhiteSpace(t.DataPath))
            {
                errors.Add("spec.training.dataPath is required when spec.training.dataset is fashion-mnist");
            }

            CheckAtLeast(errors, "spec.training.samples", t.Samples, 1);
            CheckAtLeast(errors, "spec.training.epochs", t.Epochs, 1);
            CheckAtLeast(errors, "spec.training.batchSize", t.BatchSize, 1);
            if (t.LearningRate is { } lr && !(lr > 0 && double.IsFinite(lr)))
            {
                errors.Add($"spec.training.learningRate must be a positive number, not {lr}");
            }
        }

        if (spec.Image is not null && string.IsNullOrWhiteSpace(spec.Image))
        {
            errors.Add("spec.image must not be empty");
        }

        if (spec.Checkpoint is { } c)
        {
            if (c.Uri is not null && !IsS3Uri(c.Uri))
            {
                errors.Add($"spec.checkpoint.uri must look like s3://bucket/prefix, not '{c.Uri}'");
            }

            if (c.SecretName is not null && c.Uri is null)
            {
                errors.Add("spec.checkpoint.secretName is set but spec.checkpoint.uri is not: the credentials would be unused");
            }

            CheckAtLeast(errors, "spec.checkpoint.everySteps", c.EverySteps, 1);
            CheckAtLeast(errors, "spec.checkpoint.keep", c.Keep, 1);
        }

        if (spec.MetricsPort is { } port && port is < 0 or > 65535)
        {
            errors.Add($"spec.metricsPort must be a port number from 1 to 65535, or 0 for no metrics endpoint, not {port}");
        }

        CheckAtLeast(errors, "spec.maxRestarts", spec.MaxRestarts, 0);
        CheckAtLeast(errors, "spec.restartBackoffSeconds", spec.RestartBackoffSeconds, 0);
        CheckAtLeast(errors, "spec.maxRestartBackoffSeconds", spec.MaxRestartBackoffSeconds, 0);
        CheckAtLeast(errors, "spec.terminationGracePeriodSeconds", spec.TerminationGracePeriodSeconds, 1);
        CheckAtLeast(errors, "spec.activeDeadlineSeconds", spec.ActiveDeadlineSeconds, 1);
        CheckAtLeast(errors, "spec.ttlSecondsAfterFinished", spec.TtlSecondsAfterFinished, 0);
        return errors;
    }

    private static bool IsS3Uri(string uri) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Scheme == "s3" && parsed.Host.Length >= 3;

    private static void CheckOneOf(List<string> errors, string field, string? value, IReadOnlyList<string> allowed)
    {
        if (value is not null && !allowed.Contains(value))
        {
            errors.Add($"{field} must be one of {string.Join(", ", allowed)}, not '{value}'");
        }
    }

    private static void CheckAtLeast(List<string> errors, string field, long? value, long minimum)
    {
        if (value is { } v && v < minimum)
        {
            errors.Add($"{field} must be at least {minimum}, not {v}");
        }
    }
}
