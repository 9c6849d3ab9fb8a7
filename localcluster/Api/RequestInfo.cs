namespace K8sTraining.LocalCluster.Api;

/// <summary>What a request path addresses, parsed like the API server's RequestInfoFactory.</summary>
public sealed record RequestInfo(
    string Kind,
    string Group,
    string Version,
    string? Namespace,
    string Resource,
    string? Name,
    string? Subresource,
    bool WatchPrefix)
{
    public const string ResourceRequest = "resource";

    public static RequestInfo NonResource(string kind) => new(kind, "", "", null, "", null, null, false);

    /// <summary>
    /// Parses /api, /api/v1, /apis, /apis/g, /apis/g/v and resource paths like
    /// /api/v1/namespaces/ns/pods/name/status; the kind is "resource" or names the discovery document.
    /// </summary>
    public static RequestInfo Parse(string path)
    {
        var s = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (s.Length == 0)
        {
            return NonResource("root");
        }

        string group;
        string version;
        string[] rest;
        switch (s[0])
        {
            case "api" when s.Length == 1:
                return NonResource("api");
            case "api" when s.Length == 2:
                return new RequestInfo("core-resources", "", s[1], null, "", null, null, false);
            case "api":
                group = "";
                version = s[1];
                rest = s[2..];
                break;
            case "apis" when s.Length == 1:
                return NonResource("apis");
            case "apis" when s.Length == 2:
                return new RequestInfo("group", s[1], "", null, "", null, null, false);
            case "apis" when s.Length == 3:
                return new RequestInfo("group-resources", s[1], s[2], null, "", null, null, false);
            case "apis":
                group = s[1];
                version = s[2];
                rest = s[3..];
                break;
            default:
                return NonResource("other");
        }

        var watch = false;
        if (rest[0] == "watch")
        {
            watch = true;
            rest = rest[1..];
            if (rest.Length == 0)
            {
                return NonResource("other");
            }
        }

        var namespaceSubresource = group.Length == 0 && rest.Length == 3 && rest[0] == "namespaces" && rest[2] is "status" or "finalize";
        if (rest[0] == "namespaces" && rest.Length >= 3 && !namespaceSubresource)
        {
            return new RequestInfo(ResourceRequest, group, version, rest[1], rest[2], rest.ElementAtOrDefault(3), rest.ElementAtOrDefault(4), watch)
                .CheckDepth(rest.Length > 5);
        }

        return new RequestInfo(ResourceRequest, group, version, null, rest[0], rest.ElementAtOrDefault(1), rest.ElementAtOrDefault(2), watch)
            .CheckDepth(rest.Length > 3);
    }

    private RequestInfo CheckDepth(bool tooDeep) => tooDeep ? NonResource("other") : this;
}
