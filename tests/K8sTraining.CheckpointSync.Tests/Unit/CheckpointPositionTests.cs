using K8sTraining.CheckpointSync.Sync;

namespace K8sTraining.CheckpointSync.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class CheckpointPositionTests
{
    public static TheoryData<string, string?, int, int> Cases => new()
    {
        { "the contract's fields", """{"globalStep":42,"epoch":2,"stepInEpoch":10}""", 2, 10 },
        { "the built-in trainer's state holds more", """{"globalStep":42,"epoch":1,"stepInEpoch":9,"seed":7,"history":[]}""", 1, 9 },
        { "no state.json", null, 0, 42 },
        { "empty file", "", 0, 42 },
        { "not JSON", "step 42", 0, 42 },
        { "not an object", "[1,2]", 0, 42 },
        { "epoch missing", """{"stepInEpoch":3}""", 0, 42 },
        { "step in epoch missing", """{"epoch":3}""", 0, 42 },
        { "a string epoch", """{"epoch":"1","stepInEpoch":3}""", 0, 42 },
        { "negative", """{"epoch":-1,"stepInEpoch":3}""", 0, 42 },
        { "fractional", """{"epoch":1.5,"stepInEpoch":3}""", 0, 42 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void FromState_Should_ReadEpochAndStepInEpochOrFallBack_When_GivenStateJson(string because, string? json, int epoch, int stepInEpoch)
    {
        var position = CheckpointPosition.FromState(42, json);

        Assert.True((42L, epoch, stepInEpoch) == (position.GlobalStep, position.Epoch, position.StepInEpoch), $"{because}: got {position}");
    }
}
