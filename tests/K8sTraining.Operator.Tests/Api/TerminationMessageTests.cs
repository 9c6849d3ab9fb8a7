using System.Text.Json;
using K8sTraining.Contract;

namespace K8sTraining.Operator.Tests.Api;

/// <summary>The one termination message both sides share: what the trainer writes is what the operator reads.</summary>
public sealed class TerminationMessageTests
{
    [Fact]
    [Trait("Category", "Unit")]
    public void ToJsonLine_Should_WriteEveryFieldUnderItsWireName_When_TheTrainerEnds()
    {
        var message = new TerminationMessage
        {
            Status = TerminationStatuses.Preempted,
            GlobalStep = 150,
            Epoch = 1,
            StepInEpoch = 22,
            Checkpoint = "s3://b/p/step-000000000150",
            CheckpointUploaded = true,
            TestAccuracy = 0.5,
            Message = "stopped by SIGTERM",
            ResumedFrom = new ResumePoint(100, 0, 100, "s3://b/p/step-000000000100"),
            Best = new BestCheckpointReport(120, 0, BestMetricNames.ValidationAccuracy, 0.75, BestWeightsNames.Ema, "s3://b/p/step-000000000120"),
        };

        Assert.Equal(
            """{"status":"preempted","globalStep":150,"epoch":1,"stepInEpoch":22,"checkpoint":"s3://b/p/step-000000000150","checkpointUploaded":true,"testAccuracy":0.5,"message":"stopped by SIGTERM","reason":null,"resumedFrom":{"globalStep":100,"epoch":0,"stepInEpoch":100,"checkpoint":"s3://b/p/step-000000000100"},"best":{"globalStep":120,"epoch":0,"metric":"val-accuracy","value":0.75,"weights":"ema","location":"s3://b/p/step-000000000120"},"stage":null,"lineage":null}""",
            message.ToJsonLine());
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void ToJsonLine_Should_WriteNullsToo_When_TheTrainerKnowsNothingMore()
    {
        var message = new TerminationMessage { Status = TerminationStatuses.Invalid, GlobalStep = 0, Epoch = 0, StepInEpoch = 0, CheckpointUploaded = false, Message = "bad flag", Reason = TerminationReasons.InvalidConfiguration };

        Assert.Equal(
            """{"status":"invalid","globalStep":0,"epoch":0,"stepInEpoch":0,"checkpoint":null,"checkpointUploaded":false,"testAccuracy":null,"message":"bad flag","reason":"InvalidConfiguration","resumedFrom":null,"best":null,"stage":null,"lineage":null}""",
            message.ToJsonLine());
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Parse_Should_RoundTripAStepInEpochBeyondInt32_When_AnEpochIsLong()
    {
        var message = new TerminationMessage { Status = TerminationStatuses.Completed, GlobalStep = 5_000_000_000, Epoch = 0, StepInEpoch = 3_000_000_000, ResumedFrom = new ResumePoint(4_000_000_000, 0, 4_000_000_000, null) };

        Assert.Equal(message, TerminationMessage.Parse(message.ToJsonLine()));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void TryParse_Should_LeaveMissingFieldsNull_When_AnOtherTrainerWroteLess()
    {
        var message = TerminationMessage.TryParse("""{"status":"failed","message":"oom"}""");

        Assert.Equal((TerminationStatuses.Failed, "oom"), (message?.Status, message?.Message));
        Assert.Null(message?.GlobalStep);
        Assert.Null(message?.CheckpointUploaded);
        Assert.Null(message?.ResumedFrom);
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("no message", null)]
    [InlineData("log tail only", "Traceback (most recent call last):\n  boom")]
    [InlineData("a brace that is no JSON", "{ not json")]
    public void TryParse_Should_ReturnNull_When_ThereIsNoMessage(string name, string? text)
    {
        Assert.True(TerminationMessage.TryParse(text) is null, name);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void TryParse_Should_TakeTheLastJsonLine_When_LogLinesAndAnOlderLineSurroundIt()
    {
        var text = """{"status":"failed","globalStep":1}""" + "\nstarting\n" + """{"status":"completed","globalStep":2}""" + "\n{ not json\n";

        Assert.Equal(2, TerminationMessage.TryParse(text)?.GlobalStep);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Parse_Should_Throw_When_TheLineIsNotJson()
    {
        Assert.Throws<JsonException>(() => TerminationMessage.Parse("Traceback"));
    }
}
