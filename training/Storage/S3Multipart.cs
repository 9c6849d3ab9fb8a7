using System.Globalization;
using System.Net;
using System.Text;
using System.Xml.Linq;

namespace K8sTraining.Training.Storage;

/// <summary>
/// S3's multipart initiate, complete and abort calls as presigned requests (<see cref="SigV4Presigner"/>) over a plain
/// HttpClient, the same way the parts themselves go up in parallel.
/// </summary>
/// <remarks>
/// Minio 7.0.0 has these calls but keeps them private and uploads parts one after another inside PutObjectAsync; one
/// stream is too slow for a large checkpoint in a spot notice. Signing the three small requests ourselves uses only
/// documented S3 API (CreateMultipartUpload, CompleteMultipartUpload, AbortMultipartUpload), so a Minio update cannot
/// break it silently. The user metadata is sent and signed on the initiate request: S3 refuses unsigned x-amz-* headers.
/// </remarks>
internal sealed class S3Multipart(HttpClient http, Func<string, string, IReadOnlyDictionary<string, string>, IReadOnlyDictionary<string, string>?, Uri> presign)
{
    /// <summary>CreateMultipartUpload: POST <c>key?uploads</c>; returns the upload id.</summary>
    public async Task<string> InitiateAsync(string key, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, presign("POST", key, new Dictionary<string, string> { ["uploads"] = "" }, metadata))
        {
            Content = new ByteArrayContent([]),
        };
        foreach (var (name, value) in metadata)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        var document = await SendAsync(request, $"initiate multipart {key}", cancellationToken).ConfigureAwait(false);
        var uploadId = Element(document, "UploadId");
        return string.IsNullOrEmpty(uploadId) ? throw new InvalidDataException($"The server started a multipart upload of {key} without an upload id.") : uploadId;
    }

    /// <summary>CompleteMultipartUpload: POST <c>key?uploadId</c> with the parts' numbers and ETags; returns the object's ETag.</summary>
    public async Task<string?> CompleteAsync(string key, string uploadId, IReadOnlyList<string> partEtags, CancellationToken cancellationToken)
    {
        var body = new XElement("CompleteMultipartUpload",
            partEtags.Select((etag, i) => new XElement("Part",
                new XElement("PartNumber", (i + 1).ToString(CultureInfo.InvariantCulture)),
                new XElement("ETag", etag))));
        using var request = new HttpRequestMessage(HttpMethod.Post, presign("POST", key, new Dictionary<string, string> { ["uploadId"] = uploadId }, null))
        {
            Content = new StringContent(body.ToString(SaveOptions.DisableFormatting), Encoding.UTF8, "application/xml"),
        };
        var document = await SendAsync(request, $"complete multipart {key}", cancellationToken).ConfigureAwait(false);
        return Element(document, "ETag");
    }

    /// <summary>AbortMultipartUpload: DELETE <c>key?uploadId</c>, so the parts sent are not kept (and billed).</summary>
    public async Task AbortAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, presign("DELETE", key, new Dictionary<string, string> { ["uploadId"] = uploadId }, null));
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
        {
            throw await S3ObjectClient.ErrorAsync(response, $"abort multipart {key}", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends the request and reads its XML answer; S3 may answer CompleteMultipartUpload 200 with an error body.</summary>
    private async Task<XDocument> SendAsync(HttpRequestMessage request, string what, CancellationToken cancellationToken)
    {
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await S3ObjectClient.ErrorAsync(response, what, cancellationToken).ConfigureAwait(false);
        }
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var document = XDocument.Parse(text);
        if (document.Root?.Name.LocalName == "Error")
        {
            var code = Element(document, "Code") ?? "";
            throw new S3RequestException(code, response.StatusCode, $"{what} answered {(int)response.StatusCode} {code}".TrimEnd());
        }
        return document;
    }

    private static string? Element(XDocument document, string name) =>
        document.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
}
