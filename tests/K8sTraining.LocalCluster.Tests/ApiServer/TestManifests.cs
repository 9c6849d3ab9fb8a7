namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>A small CRD exercising printer columns, a status subresource, defaults and the schema checks.</summary>
internal static class TestManifests
{
    public const string Group = "test.k8straining.io";

    public const string Plural = "widgets";

    public const string WidgetCrd = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.test.k8straining.io
        spec:
          group: test.k8straining.io
          scope: Namespaced
          names:
            kind: Widget
            listKind: WidgetList
            plural: widgets
            singular: widget
            shortNames: [wd]
          versions:
          - name: v1
            served: true
            storage: true
            subresources:
              status: {}
            additionalPrinterColumns:
            - name: Size
              type: integer
              jsonPath: .spec.size
            - name: Color
              type: string
              jsonPath: .spec.color
            - name: Ready
              type: string
              jsonPath: .status.conditions[?(@.type=="Ready")].status
            - name: Age
              type: date
              jsonPath: .metadata.creationTimestamp
            schema:
              openAPIV3Schema:
                type: object
                required: [spec]
                properties:
                  spec:
                    type: object
                    required: [size]
                    properties:
                      size:
                        type: integer
                        minimum: 1
                        maximum: 10
                      color:
                        type: string
                        enum: [red, blue]
                      mode:
                        type: string
                        default: fast
                      label:
                        type: string
                        maxLength: 5
                        pattern: '^[a-z]+$'
                      extra:
                        type: object
                        x-kubernetes-preserve-unknown-fields: true
                      port:
                        x-kubernetes-int-or-string: true
                  status:
                    type: object
                    properties:
                      observed:
                        type: integer
                      conditions:
                        type: array
                        items:
                          type: object
                          properties:
                            type: {type: string}
                            status: {type: string}
        """;

    public static string Widget(string ns, string name, int size, string color = "red", string extra = "") => $"""
        apiVersion: test.k8straining.io/v1
        kind: Widget
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          size: {size}
          color: {color}
        {extra}
        """;
}
