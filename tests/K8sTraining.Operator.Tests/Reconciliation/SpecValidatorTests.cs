using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>What the operator rejects even when a server did not apply the CRD schema.</summary>
public sealed class SpecValidatorTests
{
    [Fact]
    public void Validate_Should_AcceptTheDefaultJob_When_NothingIsWrong()
    {
        Assert.Empty(SpecValidator.Validate(TrainingJobBuilder.Default().Build().Spec));
    }

    [Theory]
    [InlineData(-1, "spec.metricsPort must be a port number from 1 to 65535, or 0 for no metrics endpoint, not -1")]
    [InlineData(65536, "spec.metricsPort must be a port number from 1 to 65535, or 0 for no metrics endpoint, not 65536")]
    [InlineData(0, null)]
    [InlineData(65535, null)]
    public void Validate_Should_NameTheFieldAndTheAllowedRange_When_MetricsPortIsOutOfRange(int port, string? expected)
    {
        var job = TrainingJobBuilder.Default().Build();
        job.Spec.MetricsPort = port;

        var errors = SpecValidator.Validate(job.Spec);

        if (expected is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.Equal(expected, Assert.Single(errors));
        }
    }
}
