using System.Text;
using K8sTraining.NodeAgent.Status;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

[Trait("Category", "Unit")]
public sealed class TerminationMessageTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("termination-message-").FullName;

    private string MessageFile => Path.Combine(_directory, "termination-log");

    private string LogFile => Path.Combine(_directory, "0.log");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Read_Should_KeepTheLast4096Bytes_When_FileIsLonger()
    {
        File.WriteAllText(MessageFile, new string('a', 5000) + new string('b', 96));

        var message = TerminationMessage.Read(MessageFile, "File", 0, LogFile);

        Assert.Equal(4096, message.Length);
        Assert.EndsWith(new string('b', 96), message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Should_UseLogTail_When_FallbackToLogsOnErrorAndFileIsEmptyAndExitIsNotZero()
    {
        File.WriteAllText(MessageFile, string.Empty);
        File.WriteAllText(LogFile, string.Concat(Enumerable.Range(1, 100).Select(i => $"line {i}\n")));

        var message = TerminationMessage.Read(MessageFile, "FallbackToLogsOnError", 1, LogFile);

        Assert.StartsWith("line 21\n", message, StringComparison.Ordinal);
        Assert.EndsWith("line 100\n", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Should_LimitLogTailTo2048Bytes_When_LinesAreLong()
    {
        File.WriteAllText(LogFile, string.Concat(Enumerable.Range(1, 10).Select(i => new string((char)('a' + i), 500) + "\n")));

        var message = TerminationMessage.Read(MessageFile, "FallbackToLogsOnError", 2, LogFile);

        Assert.Equal(2048, Encoding.UTF8.GetByteCount(message));
        Assert.EndsWith(new string('k', 500) + "\n", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("File", 1)]
    [InlineData("FallbackToLogsOnError", 0)]
    public void Read_Should_NotUseLogs_When_PolicyIsFileOrExitIsZero(string policy, int exitCode)
    {
        File.WriteAllText(LogFile, "something in the log\n");

        Assert.Equal(string.Empty, TerminationMessage.Read(MessageFile, policy, exitCode, LogFile));
    }

    [Fact]
    public void Read_Should_PreferTheFile_When_BothFileAndLogsHaveText()
    {
        File.WriteAllText(MessageFile, "{\"status\":\"failed\"}");
        File.WriteAllText(LogFile, "noise\n");

        Assert.Equal("{\"status\":\"failed\"}", TerminationMessage.Read(MessageFile, "FallbackToLogsOnError", 1, LogFile));
    }
}
