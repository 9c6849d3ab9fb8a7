namespace K8sTraining.NodeAgent.Lifecycle;

/// <summary>
/// The node agent's link to the API server, which a freeze cuts: while closed, a request waits for it to open again
/// for a few seconds and then fails as an unreachable server does, so that the agent's retry loops keep their pace and
/// resume by themselves once it opens.
/// </summary>
internal sealed class FreezeGate : DelegatingHandler
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(5);
    private readonly Lock _lock = new();
    private TaskCompletionSource _open = Opened();

    public bool IsClosed => !_open.Task.IsCompleted;

    public void Close()
    {
        lock (_lock)
        {
            if (_open.Task.IsCompleted)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public void Open()
    {
        lock (_lock)
        {
            _open.TrySetResult();
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var open = _open.Task;
        if (!open.IsCompleted)
        {
            try
            {
                await open.WaitAsync(MaxWait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new HttpRequestException("the node is frozen: its requests do not reach the API server");
            }
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}
