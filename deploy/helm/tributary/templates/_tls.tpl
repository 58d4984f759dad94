{{- /* TLS between the parts (values `tls`): Secret volumes, the variables naming their files, and
probes that speak HTTPS. Secrets are mounted as whole directories (no subPath) so that a renewed
Secret reaches the files, which the control plane re-reads. */}}

{{- define "tributary.tls.validate" -}}
{{- $tls := .Values.tls }}
{{- if and $tls.enabled (not $tls.secretName) }}
{{- fail "tls.enabled: set tls.secretName (a kubernetes.io/tls Secret with the control plane's certificate)" }}
{{- end }}
{{- if and $tls.mutual.enabled (not $tls.enabled) }}
{{- fail "tls.mutual.enabled needs tls.enabled" }}
{{- end }}
{{- if and $tls.mutual.enabled (not $tls.mutual.workerSecretName) }}
{{- fail "tls.mutual.enabled: set tls.mutual.workerSecretName (a kubernetes.io/tls Secret with the workers' client certificate)" }}
{{- end }}
{{- end }}

{{- define "tributary.tls.caSecretName" -}}
{{- default .Values.tls.secretName .Values.tls.caSecretName }}
{{- end }}

{{- /* A probe of values.yaml, with `scheme: HTTPS` on its httpGet when the REST port serves TLS. */}}
{{- define "tributary.tls.probe" -}}
{{- $probe := deepCopy .probe }}
{{- if and .https $probe.httpGet }}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" }}
{{- end }}
{{- toYaml $probe }}
{{- end }}

{{- define "tributary.tls.controlPlaneEnv" -}}
{{- if .Values.tls.enabled -}}
- name: TRIBUTARY_HTTP_TLS_CERT
  value: /etc/tributary/tls/tls.crt
- name: TRIBUTARY_HTTP_TLS_KEY
  value: /etc/tributary/tls/tls.key
{{- if .Values.tls.mutual.enabled }}
- name: TRIBUTARY_GRPC_TLS_CLIENT_CA
  value: /etc/tributary/ca/ca.crt
{{- end }}
{{- end }}
{{- end }}

{{- define "tributary.tls.controlPlaneMounts" -}}
{{- if .Values.tls.enabled -}}
- name: tls
  mountPath: /etc/tributary/tls
  readOnly: true
{{- if .Values.tls.mutual.enabled }}
- name: ca
  mountPath: /etc/tributary/ca
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{- define "tributary.tls.controlPlaneVolumes" -}}
{{- if .Values.tls.enabled -}}
- name: tls
  secret:
    secretName: {{ .Values.tls.secretName | quote }}
{{- if .Values.tls.mutual.enabled }}
- name: ca
  secret:
    secretName: {{ include "tributary.tls.caSecretName" . | quote }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end }}
{{- end }}

{{- define "tributary.tls.workerEnv" -}}
{{- if .Values.tls.enabled -}}
- name: TRIBUTARY_CONTROL_PLANE_CA
  value: /etc/tributary/ca/ca.crt
{{- if .Values.tls.mutual.enabled }}
- name: TRIBUTARY_TLS_CLIENT_CERT
  value: /etc/tributary/client-tls/tls.crt
- name: TRIBUTARY_TLS_CLIENT_KEY
  value: /etc/tributary/client-tls/tls.key
{{- end }}
{{- end }}
{{- end }}

{{- define "tributary.tls.workerMounts" -}}
{{- if .Values.tls.enabled -}}
- name: ca
  mountPath: /etc/tributary/ca
  readOnly: true
{{- if .Values.tls.mutual.enabled }}
- name: client-tls
  mountPath: /etc/tributary/client-tls
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{- define "tributary.tls.workerVolumes" -}}
{{- if .Values.tls.enabled -}}
- name: ca
  secret:
    secretName: {{ include "tributary.tls.caSecretName" . | quote }}
    items:
      - key: ca.crt
        path: ca.crt
{{- if .Values.tls.mutual.enabled }}
- name: client-tls
  secret:
    secretName: {{ .Values.tls.mutual.workerSecretName | quote }}
{{- end }}
{{- end }}
{{- end }}
