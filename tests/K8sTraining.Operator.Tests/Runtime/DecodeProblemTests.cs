using System.Text.Json;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Runtime;
using k8s;

namespace K8sTraining.Operator.Tests.Runtime;

[Trait("Category", "Unit")]
public sealed class DecodeProblemTests
{
    public static TheoryData<string, string, string> Cases => new()
    {
        { "a string where core/v1 wants a number", "'tolerations':[{'key':'spot','operator':'Exists','tolerationSeconds':'soon'}]", "spec.tolerations[0].tolerationSeconds: \"soon\" is not a 64-bit integer" },
        { "a number too big for an int", "'training':{'model':'mlp','samples':3000000000}", "spec.training.samples: 3000000000 is not a 32-bit integer" },
        { "not a Kubernetes quantity", "'resources':{'limits':{'memory':'lots'}}", "spec.resources.limits.memory: \"lots\" is not valid (The string 'lots' cannot be converted" },
        { "an object where a list belongs", "'env':{'name':'A','value':'1'}", "spec.env: object is not a list" },
        { "a number where core/v1 wants a string", "'env':[{'name':5,'value':'1'}]", "spec.env[0].name: 5 is not a string" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Describe_Should_NameTheFieldAndItsValue_When_ASpecCannotBeDecoded(string because, string specFields, string expected)
    {
        var raw = Raw(specFields);
        var error = Record.Exception(() => KubernetesJson.Deserialize<TrainingJob>(raw));
        Assert.NotNull(error);

        var problem = DecodeProblem.Describe(error, raw);

        Assert.True(problem.StartsWith(expected, StringComparison.Ordinal), $"{because}: {problem}");
    }

    private static JsonElement Raw(string specFields)
    {
        var fields = specFields.Replace('\'', '"');
        var training = fields.Contains("\"training\"", StringComparison.Ordinal) ? "" : "\"training\":{\"model\":\"mlp\"},";
        using var document = JsonDocument.Parse(
            "{\"apiVersion\":\"k8straining.io/v1alpha1\",\"kind\":\"TrainingJob\",\"metadata\":{\"name\":\"bad\",\"namespace\":\"ns\"},"
            + "\"spec\":{" + training + fields + "}}");
        return document.RootElement.Clone();
    }
}
