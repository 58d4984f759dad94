{{/* Names, labels and the pieces both workloads share. */}}

{{- define "tributary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-tributary, or the release name alone when it already says tributary. */}}
{{- define "tributary.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tributary.controlPlane.fullname" -}}
{{- printf "%s-control-plane" (include "tributary.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tributary.worker.fullname" -}}
{{- printf "%s-worker" (include "tributary.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tributary.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "tributary.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: "control-plane" or "worker". */}}
{{- define "tributary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tributary.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tributary.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tributary.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tributary.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) }}
{{- end }}

{{/* The chart's own Secret (values the user did not put in Secrets of their own). */}}
{{- define "tributary.secretName" -}}
{{- include "tributary.fullname" . }}
{{- end }}

{{/* env entries: one variable read from a Secret key. */}}
{{- define "tributary.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}

{{/* TRIBUTARY_WORKER_TOKEN, wherever it is kept. Both workloads use it. */}}
{{- define "tributary.workerTokenEnv" -}}
{{- if .Values.workerToken.existingSecret }}
{{- include "tributary.secretEnv" (dict "name" "TRIBUTARY_WORKER_TOKEN" "secret" .Values.workerToken.existingSecret "key" .Values.workerToken.existingSecretKey) }}
{{- else }}
{{- include "tributary.secretEnv" (dict "name" "TRIBUTARY_WORKER_TOKEN" "secret" (include "tributary.secretName" .) "key" "worker-token") }}
{{- end }}
{{- end }}

{{/* Logging, the same for both binaries. */}}
{{- define "tributary.logEnv" -}}
- name: TRIBUTARY_LOG_FORMAT
  value: {{ .Values.log.format | quote }}
- name: TRIBUTARY_LOG
  value: {{ .Values.log.level | quote }}
{{- end }}

{{/*
A value kept in the chart's Secret: the one given in values, else the one already stored (so an
upgrade keeps a generated token), else a new random one. `lookup` sees nothing under
`helm template`, which then shows a fresh random value.
*/}}
{{- define "tributary.persistentSecretValue" -}}
{{- $given := .given }}
{{- if $given }}
{{- $given }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace (include "tributary.secretName" .root) }}
{{- if and $existing (hasKey $existing.data .key) }}
{{- index $existing.data .key | b64dec }}
{{- else }}
{{- randAlphaNum 48 }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tributary.validate" -}}
{{- if not (has .Values.log.format (list "text" "json")) }}
{{- fail (printf "log.format must be \"text\" or \"json\", not %q" .Values.log.format) }}
{{- end }}
{{- if and (not .Values.database.existingSecret) (not .Values.database.url) }}
{{- fail "database: set database.url (postgres://USER:PASSWORD@HOST:5432/DATABASE) or database.existingSecret (a Secret holding that URL)" }}
{{- end }}
{{- if and .Values.workers.autoscaling.enabled (gt (int .Values.workers.autoscaling.minReplicas) (int .Values.workers.autoscaling.maxReplicas)) }}
{{- fail "workers.autoscaling: minReplicas is greater than maxReplicas" }}
{{- end }}
{{- $as := .Values.workers.autoscaling }}
{{- if and $as.enabled (not $as.targetCPUUtilizationPercentage) (not $as.targetMemoryUtilizationPercentage) }}
{{- fail "workers.autoscaling: set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage (or disable autoscaling)" }}
{{- end }}
{{- if and .Values.bootstrapApiKey.enabled (not .Values.bootstrapApiKey.existingSecret) (not .Values.bootstrapApiKey.key) }}
{{- fail "bootstrapApiKey.key is empty: name the bootstrap API key, or set bootstrapApiKey.enabled=false" }}
{{- end }}
{{- end }}
