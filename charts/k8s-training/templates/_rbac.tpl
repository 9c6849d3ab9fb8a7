{{/*
Exactly the API operations the operator performs in the namespaces it watches, and nothing else: the list mirrors
operator/Runtime/ApiOperations.cs (ApiOperations.Namespaced). tests/K8sTraining.Deploy.Tests/Rbac compares the rendered
rules with that list, and with the requests the operator makes against the local control plane. Change both together.
*/}}
{{- define "k8s-training.rules" -}}
- apiGroups: ["k8straining.io"]
  resources: ["trainingjobs"]
  verbs: ["list", "watch", "delete"]
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
  verbs: ["get", "list", "watch", "create", "delete", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
# The headless Service of a multi-worker job (spec.workers > 1): created, read on a conflict, adopted when unowned.
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "create", "patch"]
{{- end }}

{{/*
Cluster-scoped reads, whatever namespaces are watched (ApiOperations.ClusterScoped): Nodes, to tell a trainer pod on a
lost Node (unreachable, NotReady, deleted) and apply spec.nodeLossPolicy. Read-only.
*/}}
{{- define "k8s-training.clusterRules" -}}
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["get", "list", "watch"]
{{- end }}

{{/*
Leader election: one Lease in the release namespace (ApiOperations.LeaderElection). get and update name that Lease;
create cannot be limited by name (the object does not exist yet when RBAC decides).
*/}}
{{- define "k8s-training.leaderElectionRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["create"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  resourceNames: [{{ include "k8s-training.leaseName" . | quote }}]
  verbs: ["get", "update"]
{{- end }}
