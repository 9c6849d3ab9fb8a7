using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>owner.json: a job never silently adopts the checkpoints another job left at the same prefix.</summary>
[Trait("Category", "Integration")]
public sealed class S3OwnershipTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly List<string> temporary = [];

    private static readonly CheckpointOwnerClaim First = new("uid-first", "team-a", "fashion", Adopt: false);
    private static readonly CheckpointOwnerClaim Second = new("uid-second", "team-b", "fashion", Adopt: false);

    [Fact]
    public async Task ValidateAsync_Should_WriteOwnerJson_When_ThePrefixIsEmpty()
    {
        var prefix = Prefix();
        await using (var store = Create(prefix, First))
        {
            await store.ValidateAsync(CancellationToken.None);
        }
        var owner = RemoteCheckpointDocuments.ParseOwner(await Raw(prefix).GetBytesAsync($"{prefix}/owner.json", CancellationToken.None));
        Assert.Equal(("uid-first", "team-a", "fashion"), (owner.Uid, owner.Namespace, owner.Name));
    }

    [Fact]
    public async Task ValidateAsync_Should_RefuseNamingThePrefixTheOwnerAndTheWaysOn_When_AnotherJobOwnsThePrefix()
    {
        var prefix = Prefix();
        await CommitAsync(prefix, First, 5);

        await using var store = Create(prefix, Second);
        var error = await Assert.ThrowsAsync<CheckpointPrefixInUseException>(() => store.ValidateAsync(CancellationToken.None));

        Assert.Contains($"s3://k8straining/{prefix}", error.Message, StringComparison.Ordinal);
        Assert.Contains("team-a/fashion (uid uid-first", error.Message, StringComparison.Ordinal);
        Assert.Contains("team-b/fashion (uid uid-second)", error.Message, StringComparison.Ordinal);
        Assert.Contains("use a fresh spec.checkpoint.uri", error.Message, StringComparison.Ordinal);
        Assert.Contains("spec.checkpoint.adopt: true", error.Message, StringComparison.Ordinal);
        var owner = RemoteCheckpointDocuments.ParseOwner(await Raw(prefix).GetBytesAsync($"{prefix}/owner.json", CancellationToken.None));
        Assert.Equal("uid-first", owner.Uid);
    }

    [Fact]
    public async Task ValidateAsync_Should_Refuse_When_CheckpointsExistWithoutOwnerJson()
    {
        var prefix = Prefix();
        await CommitAsync(prefix, owner: null, 5);

        await using var store = Create(prefix, Second);
        var error = await Assert.ThrowsAsync<CheckpointPrefixInUseException>(() => store.ValidateAsync(CancellationToken.None));

        Assert.Contains("already holds checkpoints (newest step-000000000005)", error.Message, StringComparison.Ordinal);
        Assert.Contains("spec.checkpoint.adopt: true", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_Should_RewriteOwnerAndLetTheJobResume_When_AdoptIsSet()
    {
        var prefix = Prefix();
        await CommitAsync(prefix, First, 5);

        var (logs, factory) = Logs();
        await using (var store = Create(prefix, Second with { Adopt = true }, factory))
        {
            await store.ValidateAsync(CancellationToken.None);
            Assert.Equal(5, await store.RestoreNewestAsync(Temp(), -1, CancellationToken.None));
        }
        var owner = RemoteCheckpointDocuments.ParseOwner(await Raw(prefix).GetBytesAsync($"{prefix}/owner.json", CancellationToken.None));
        Assert.Equal("uid-second", owner.Uid);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Adopting", StringComparison.Ordinal) && e.Message.Contains("uid-first", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("the same job's replacement pod")]
    [InlineData("a standalone trainer (no job uid)")]
    public async Task ValidateAsync_Should_Resume_When_ThePrefixIsTheJobsOwnOrNoUidIsGiven(string who)
    {
        var prefix = Prefix();
        await CommitAsync(prefix, First, 5);
        await using var store = Create(prefix, who.StartsWith("the same", StringComparison.Ordinal) ? First : null);
        await store.ValidateAsync(CancellationToken.None);
        Assert.Equal(5, await store.RestoreNewestAsync(Temp(), -1, CancellationToken.None));
    }

    public void Dispose()
    {
        foreach (var dir in temporary)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task CommitAsync(string prefix, CheckpointOwnerClaim? owner, long step)
    {
        await using var store = Create(prefix, owner);
        await store.ValidateAsync(CancellationToken.None);
        store.Enqueue(LocalCheckpoints.Write(Temp(), step, LocalCheckpoints.SmallCheckpoint(step)));
        Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted);
    }

    private IRemoteCheckpointStore Create(string prefix, CheckpointOwnerClaim? owner, ILoggerFactory? factory = null)
    {
        var env = fixture.Server.Environment();
        return RemoteCheckpointStoreFactory.Create($"s3://{S3rverServer.Bucket}/{prefix}", 3, n => env.GetValueOrDefault(n), factory ?? Logs().Factory, owner);
    }

    private static (ListLoggerProvider Logs, ILoggerFactory Factory) Logs()
    {
        var logs = new ListLoggerProvider();
        return (logs, LoggerFactory.Create(b => b.AddProvider(logs)));
    }

    private S3ObjectClient Raw(string prefix) =>
        new(S3StoreOptions.FromEnvironment($"s3://k8straining/{prefix}", 3, n => fixture.Server.Environment().GetValueOrDefault(n)));

    private string Temp()
    {
        var dir = LocalCheckpoints.TempDirectory();
        temporary.Add(dir);
        return dir;
    }

    private static string Prefix() => "owned/" + Guid.NewGuid().ToString("N")[..12];
}
