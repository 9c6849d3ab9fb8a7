using System.Text;
using k8s;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// Sets the User-Agent of every API request to <c>k8s-training-operator/&lt;identity&gt;</c>, so audit logs (and the chaos
/// suite) tell this replica's writes apart from kubectl's, the node agents' and another replica's.
/// </summary>
public sealed class OperatorUserAgent(string identity) : DelegatingHandler
{
    /// <summary>The product part; the same name the operator writes with as field manager.</summary>
    public const string Product = KubernetesApi.FieldManager;

    public string Value { get; } = For(identity);

    /// <summary>
    /// The header value for a replica. Characters a header may not carry (controls, non-ASCII) become '_', so an odd
    /// --identity still names the replica instead of failing every request.
    /// </summary>
    public static string For(string identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var text = new StringBuilder(Product.Length + 1 + identity.Length).Append(Product).Append('/');
        foreach (var c in identity)
        {
            text.Append(c is >= '!' and <= '~' ? c : '_');
        }

        return text.ToString();
    }

    /// <summary>The operator's Kubernetes client: every request it sends (lists, watches, writes, the Lease) carries the User-Agent.</summary>
    public static Kubernetes CreateClient(KubernetesClientConfiguration config, string identity, params DelegatingHandler[] inner) =>
        new(config, [new OperatorUserAgent(identity), .. inner]);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Replaces the client library's own User-Agent (HttpClient adds its defaults before the handlers run).
        request.Headers.Remove("User-Agent");
        request.Headers.TryAddWithoutValidation("User-Agent", Value);
        return base.SendAsync(request, cancellationToken);
    }
}
