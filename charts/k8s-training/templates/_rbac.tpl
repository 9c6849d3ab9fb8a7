{{/*
Exactly the API operations the operator performs in the namespaces it watches, and nothing else. The list mirrors
operator/Runtime/ApiOperations (the operator's declared operations); tests/K8sTraining.Deploy.Tests compares the rendered
rules with it and with the audit log of the operator running against the local control plane. Change both together.
*/}}
{{- define "k8s-training.rules" -}}
- apiGroups: ["k8straining.io"]
  resources: ["trainingjobs"]
  verbs: ["get", "list", "watch", "delete"]
- apiGroups: ["k8straining.io"]
  resources: ["trainingjobs/status"]
  verbs: ["update"]
# Creating a pod whose ownerReference sets blockOwnerDeletion needs update on the owner's finalizers subresource
# (the OwnerReferencesPermissionEnforcement admission plugin); the operator never calls it directly.
- apiGroups: ["k8straining.io"]
  resources: ["trainingjobs/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* Leader election: one Lease in the release namespace. */}}
{{- define "k8s-training.leaderElectionRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update"]
{{- end }}
