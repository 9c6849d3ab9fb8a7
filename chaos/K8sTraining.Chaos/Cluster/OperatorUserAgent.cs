namespace K8sTraining.Chaos.Cluster;

/// <summary>The operator's User-Agent, <c>k8s-training-operator/&lt;identity&gt;</c>: which replica made a request.</summary>
public static class OperatorUserAgent
{
    public const string Product = "k8s-training-operator";

    /// <summary>The replica's identity from a User-Agent header, or null when an operator did not send it.</summary>
    public static string? IdentityOf(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent))
        {
            return null;
        }
        foreach (var token in userAgent.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.StartsWith(Product + "/", StringComparison.Ordinal) && token.Length > Product.Length + 1)
            {
                return token[(Product.Length + 1)..];
            }
        }
        return null;
    }
}
