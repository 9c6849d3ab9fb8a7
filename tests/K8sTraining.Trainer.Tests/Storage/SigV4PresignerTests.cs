using K8sTraining.Training.Storage;
using Minio;
using Minio.DataModel.Args;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>s3rver does not check SigV4 signatures, so the signer is pinned to AWS's published example and to Minio.</summary>
[Trait("Category", "Unit")]
public sealed class SigV4PresignerTests
{
    [Fact]
    public void Presign_Should_MatchAwsDocumentationExample_When_SigningGetObject()
    {
        // "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)", Amazon S3 API reference.
        var signer = new SigV4Presigner("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", null);
        var url = signer.Presign("GET", "https", "examplebucket.s3.amazonaws.com", "/test.txt", new Dictionary<string, string>(),
            new DateTime(2013, 5, 24, 0, 0, 0, DateTimeKind.Utc), TimeSpan.FromSeconds(86400));
        Assert.Equal(
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
            url.OriginalString);
    }

    [Fact]
    public async Task Presign_Should_MatchMinioPresigner_When_SigningPathStyleGetWithPort()
    {
        var date = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        using var minio = new MinioClient().WithEndpoint("127.0.0.1", 9000).WithSSL(false).WithCredentials("S3RVER", "secret/with+chars").WithRegion("eu-west-1").Build();
        var expected = await minio.PresignedGetObjectAsync(new PresignedGetObjectArgs().WithBucket("k8straining").WithObject("jobs/a b/step-000000000001/model.bin").WithExpiry(3600).WithRequestDate(date));
        var signer = new SigV4Presigner("S3RVER", "secret/with+chars", "eu-west-1", null);
        var url = signer.Presign("GET", "http", "127.0.0.1:9000", "/k8straining/jobs/a b/step-000000000001/model.bin", new Dictionary<string, string>(), date, TimeSpan.FromHours(1));
        Assert.Equal(Signature(expected), Signature(url.OriginalString));
    }

    [Fact]
    public void Presign_Should_ChangeSignature_When_PartNumberChanges()
    {
        var signer = new SigV4Presigner("AK", "SK", "us-east-1", null);
        var now = DateTime.UtcNow;
        var one = signer.Presign("PUT", "http", "h:1", "/b/k", new Dictionary<string, string> { ["partNumber"] = "1", ["uploadId"] = "u" }, now, TimeSpan.FromHours(1));
        var two = signer.Presign("PUT", "http", "h:1", "/b/k", new Dictionary<string, string> { ["partNumber"] = "2", ["uploadId"] = "u" }, now, TimeSpan.FromHours(1));
        Assert.Contains("partNumber=1&", one.OriginalString, StringComparison.Ordinal);
        Assert.NotEqual(Signature(one.OriginalString), Signature(two.OriginalString));
        Assert.DoesNotContain("SK", one.Query.Replace("X-Amz-SignedHeaders", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    private static string Signature(string url) => url[(url.IndexOf("X-Amz-Signature=", StringComparison.Ordinal) + 16)..];
}
