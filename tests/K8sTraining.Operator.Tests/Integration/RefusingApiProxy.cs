using System.Net;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// A loopback HTTP proxy in front of the API server that answers chosen requests itself, as an admission webhook,
/// Pod Security or a ResourceQuota would refuse them; everything else (watches included) is passed through.
/// </summary>
public sealed class RefusingApiProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase) { "Host", "Connection", "Transfer-Encoding", "Keep-Alive", "Content-Length", "Content-Type" };

    private readonly HttpListener _listener = new();
    private readonly HttpClient _upstream;
    private readonly Func<HttpListenerRequest, (int Code, string Body)?> _refuse;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    public RefusingApiProxy(Uri upstream, Func<HttpListenerRequest, (int Code, string Body)?> refuse)
    {
        _refuse = refuse;
        _upstream = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = upstream, Timeout = Timeout.InfiniteTimeSpan };
        Port = OperatorProcess.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = ServeAsync();
    }

    public int Port { get; }

    /// <summary>How many requests were refused so far.</summary>
    public int Refused { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Close();
        try
        {
            await _serving;
        }
        catch (Exception e) when (e is ObjectDisposedException or HttpListenerException or OperationCanceledException)
        {
        }

        _upstream.Dispose();
        _stop.Dispose();
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var context = await _listener.GetContextAsync();
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        try
        {
            if (_refuse(context.Request) is { } refusal)
            {
                Refused++;
                context.Response.StatusCode = refusal.Code;
                context.Response.ContentType = "application/json";
                var bytes = System.Text.Encoding.UTF8.GetBytes(refusal.Body);
                await context.Response.OutputStream.WriteAsync(bytes, _stop.Token);
                context.Response.Close();
                return;
            }

            using var request = new HttpRequestMessage(new HttpMethod(context.Request.HttpMethod), context.Request.Url!.PathAndQuery);
            foreach (var name in context.Request.Headers.AllKeys.Where(k => k is not null && !HopHeaders.Contains(k)))
            {
                request.Headers.TryAddWithoutValidation(name!, context.Request.Headers.GetValues(name!) ?? []);
            }

            if (context.Request.HasEntityBody)
            {
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body, _stop.Token);
                request.Content = new ByteArrayContent(body.ToArray());
                if (context.Request.ContentType is { } type)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
                }
            }

            using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            context.Response.SendChunked = true;
            await using var source = await response.Content.ReadAsStreamAsync(_stop.Token);
            var buffer = new byte[16384];
            int read;
            while ((read = await source.ReadAsync(buffer, _stop.Token)) > 0)
            {
                // A watch is a stream of lines: pass each chunk on at once.
                await context.Response.OutputStream.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                await context.Response.OutputStream.FlushAsync(_stop.Token);
            }

            context.Response.Close();
        }
        catch (Exception e) when (e is HttpRequestException or IOException or HttpListenerException or OperationCanceledException or ObjectDisposedException)
        {
            context.Response.Abort();
        }
    }
}
