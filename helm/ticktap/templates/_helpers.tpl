{{/* Names and labels shared by the templates. */}}
{{- define "ticktap.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ticktap.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ticktap.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ticktap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ticktap.selector" -}}
app.kubernetes.io/name: {{ include "ticktap.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ticktap.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "ticktap.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ticktap.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ticktap.kafkaBrokers" -}}
{{- default .Values.agent.kafkaBrokers .Values.enrich.kafkaBrokers -}}
{{- end -}}

{{/* The agent's ticktap.yaml: interfaces and rules from the values, agent.config over it. */}}
{{- define "ticktap.agentConfig" -}}
{{- $a := .Values.agent -}}
{{- $ifaces := list -}}
{{- if eq $a.mode "dpdk" -}}
{{- range $a.dpdk.ports -}}
{{- $ifaces = append $ifaces (dict "name" . "mode" "dpdk") -}}
{{- end -}}
{{- else -}}
{{- range $a.interfaces -}}
{{- $i := dict "name" . "mode" $a.mode "xdp_mode" $a.xdpMode -}}
{{- if eq $a.mode "tap" -}}
{{- $_ := set $i "queues" $a.tap.queues -}}
{{- $_ := set $i "unmatched" $a.tap.unmatched -}}
{{- end -}}
{{- $ifaces = append $ifaces $i -}}
{{- end -}}
{{- end -}}
{{- $cfg := dict "capture" (dict "interfaces" $ifaces) "metrics" (dict "listen" (printf "0.0.0.0:%d" (int $a.metricsPort))) -}}
{{- if $a.rules -}}
{{- $_ := set $cfg "rules" $a.rules -}}
{{- end -}}
{{- if $a.kafkaBrokers -}}
{{- $k := dict "brokers" $a.kafkaBrokers -}}
{{- $props := dict -}}
{{- range $name, $_ := $a.kafkaSecretProperties -}}
{{- $_ := set $props $name (printf "env:%s" (include "ticktap.kafkaEnv" $name)) -}}
{{- end -}}
{{- if $props -}}
{{- $_ := set $k "properties" $props -}}
{{- end -}}
{{- $_ := set $cfg "kafka" $k -}}
{{- end -}}
{{- if and (eq $a.mode "dpdk") $a.dpdk.eal -}}
{{- $_ := set $cfg "dpdk" (dict "eal" $a.dpdk.eal) -}}
{{- end -}}
{{- toYaml (mergeOverwrite $cfg (deepCopy $a.config)) -}}
{{- end -}}

{{- define "ticktap.enrichConfig" -}}
{{- $e := .Values.enrich -}}
{{- $llm := dict -}}
{{- if $e.llm.baseUrl -}}
{{- $llm = dict "base_url" $e.llm.baseUrl "model" $e.llm.model -}}
{{- end -}}
{{- $cfg := dict "enrich" (deepCopy $e.config) "llm" (mergeOverwrite $llm (deepCopy $e.llm.config)) -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The environment variable that carries a secret librdkafka property. */}}
{{- define "ticktap.kafkaEnv" -}}
{{- printf "TICKTAP_KAFKA_%s" (. | upper | replace "." "_" | replace "-" "_") -}}
{{- end -}}

{{/* The agent's capabilities: agent.capabilities, else the least its mode needs (values.yaml). */}}
{{- define "ticktap.capabilities" -}}
{{- $a := .Values.agent -}}
{{- if $a.capabilities -}}
{{- toJson $a.capabilities -}}
{{- else if eq $a.mode "tap" -}}
{{- toJson (list "BPF" "NET_ADMIN" "PERFMON" "NET_RAW" "IPC_LOCK") -}}
{{- else if eq $a.mode "dpdk" -}}
{{- toJson (list "SYS_ADMIN" "IPC_LOCK" "NET_ADMIN" "NET_RAW") -}}
{{- else -}}
{{- toJson (list "BPF" "NET_ADMIN" "PERFMON") -}}
{{- end -}}
{{- end -}}
