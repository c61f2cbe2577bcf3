{{/* Names, labels and the per-process facts the templates share. */}}

{{- define "irc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "irc.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "irc.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "irc.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "irc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "irc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "irc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "irc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The processes this release runs. */}}
{{- define "irc.components" -}}
{{- $c := list "ingestor" "worker" }}
{{- if .Values.dashboard.enabled }}{{ $c = append $c "dashboard" }}{{ end }}
{{- join " " $c }}
{{- end }}

{{/* (dict "root" $ "component" "worker"): the component's object name. */}}
{{- define "irc.componentName" -}}
{{- printf "%s-%s" (include "irc.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "irc.componentSelectorLabels" -}}
{{ include "irc.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "irc.componentLabels" -}}
{{ include "irc.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* How the Dockerfile's image runs each process (as docker-compose.yml does). */}}
{{- define "irc.command" -}}
{{- $scripts := dict "ingestor" "dist/src/main/ingestor.js" "worker" "dist/workers/main.js" "dashboard" "dist/src/main/dashboard.js" }}
{{- list "node" (get $scripts .) | toJson }}
{{- end }}

{{/* The scrape job name alerts.yml expects. */}}
{{- define "irc.job" -}}
interactive-{{ . }}
{{- end }}

{{/* The Secret's keys a process reads, space-separated (least privilege: the ingestor never sees MongoDB's or the dashboard's credentials). */}}
{{- define "irc.secretKeys" -}}
{{- $v := .root.Values }}
{{- $keys := list "REDIS_URL" }}
{{- if ne .component "ingestor" }}
{{- $keys = append $keys "MONGO_URL" }}
{{- if $v.cacheRedis.separate }}{{ $keys = append $keys "CACHE_REDIS_URL" }}{{ end }}
{{- end }}
{{- if eq .component "dashboard" }}
{{- if eq $v.dashboard.auth "basic" }}{{ $keys = concat $keys (list "DASHBOARD_USER" "DASHBOARD_PASSWORD") }}{{ end }}
{{- if eq $v.dashboard.auth "token" }}{{ $keys = append $keys "DASHBOARD_TOKEN" }}{{ end }}
{{- end }}
{{- join " " $keys }}
{{- end }}

{{/* Settings that cannot work, refused at render time. Included by configmap.yaml. */}}
{{- define "irc.validate" -}}
{{- $v := .Values }}
{{- if gt (int $v.ingestor.replicas) (int $v.kafka.partitions) }}
{{- fail (printf "ingestor.replicas (%d) exceeds kafka.partitions (%d): at most one ingestor per partition does work" (int $v.ingestor.replicas) (int $v.kafka.partitions)) }}
{{- end }}
{{- if and $v.redis.cluster (not (regexMatch "^\\{.+\\}$" $v.redis.queuePrefix)) }}
{{- fail (printf "redis.queuePrefix must be a hash tag such as {%s} with redis.cluster (BullMQ needs a queue's keys in one slot)" $v.redis.queuePrefix) }}
{{- end }}
{{- if not (has $v.dashboard.auth (list "basic" "token")) }}
{{- fail "dashboard.auth must be basic or token: in a pod the dashboard listens beyond loopback, where it refuses to start without credentials" }}
{{- end }}
{{- range $key := list "REDIS_URL" "CACHE_REDIS_URL" "MONGO_URL" "DASHBOARD_USER" "DASHBOARD_PASSWORD" "DASHBOARD_TOKEN" }}
{{- if hasKey $v.config $key }}
{{- fail (printf "config.%s: secret settings belong in the Secret %s, not in the ConfigMap" $key $v.existingSecret) }}
{{- end }}
{{- end }}
{{- end }}
