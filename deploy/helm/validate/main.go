// Command validate checks, without a cluster, what deploy/helm/interactive-read-counter renders
// and the project's docker-compose.yml (check.sh runs both on every values file):
//
//	helm template ... | validate manifests [-rules-out DIR]
//	validate compose FILE
//
// manifests decodes every object of a multi-document YAML stream strictly into the Go type of its
// apiVersion/kind, as the API server's strict field validation does: an unknown, misspelled or
// miscased field, a duplicate key or an unregistered kind fails. Core kinds come from client-go's
// scheme (k8s.io/api), ScaledObject from KEDA's own types, ServiceMonitor and PrometheusRule from
// prometheus-operator's. It then runs the checks KEDA's admission webhook can make offline and
// cross-checks the objects against each other (selectors select a rendered Deployment's pods, a
// probe's named port exists, ...). With -rules-out, each PrometheusRule's groups are written to
// DIR/<name>.yml for `promtool check rules`.
//
// compose loads the file with compose-go, the loader of Docker Compose v2 (schema and consistency
// checks, interpolation), i.e. what `docker compose config -q` does.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "manifests":
		fs := flag.NewFlagSet("manifests", flag.ExitOnError)
		rulesOut := fs.String("rules-out", "", "write each PrometheusRule's groups to DIR/<name>.yml")
		_ = fs.Parse(os.Args[2:])
		var n int
		n, err = validateManifests(os.Stdin, *rulesOut)
		if err == nil {
			fmt.Printf("validate: %d objects decoded strictly and cross-checked\n", n)
		}
	case "compose":
		if len(os.Args) != 3 {
			usage()
		}
		err = validateCompose(os.Args[2])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "validate: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: validate manifests [-rules-out DIR] < stream.yaml | validate compose FILE")
	os.Exit(2)
}

// object is one decoded document with the template it came from (helm's "# Source:" line).
type object struct {
	source string
	obj    runtime.Object
	meta   metav1.Object
	kind   string
}

func (o object) String() string {
	return fmt.Sprintf("%s %q (%s)", o.kind, o.meta.GetName(), o.source)
}

func newDecoder() (runtime.Decoder, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, kedav1alpha1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	// Strict: unknown and duplicate fields are errors, field names are case-sensitive.
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer(), nil
}

func validateManifests(in io.Reader, rulesOut string) (int, error) {
	decoder, err := newDecoder()
	if err != nil {
		return 0, err
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var objects []object
	var errs []error
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("document %d: %w", i, err)
		}
		source := fmt.Sprintf("document %d", i)
		for _, line := range strings.Split(string(doc), "\n") {
			if s, ok := strings.CutPrefix(line, "# Source: "); ok {
				source = s
			}
		}
		if empty, err := isEmpty(doc); err != nil || empty {
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", source, err))
			}
			continue
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			// Only unknown or duplicate fields: the object decoded, and is cross-checked too.
			if !runtime.IsStrictDecodingError(err) || obj == nil {
				continue
			}
		}
		m, err := metaOf(obj)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			continue
		}
		objects = append(objects, object{source: source, obj: obj, meta: m, kind: gvk.Kind})
	}
	if len(objects) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no objects in the input"))
	}
	errs = append(errs, crossCheck(objects)...)
	if rulesOut != "" && len(errs) == 0 {
		if err := writeRules(objects, rulesOut); err != nil {
			errs = append(errs, err)
		}
	}
	return len(objects), errors.Join(errs...)
}

// isEmpty: a document of comments only (helm renders one for a template that outputs nothing).
func isEmpty(doc []byte) (bool, error) {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return false, err
	}
	return bytes.Equal(bytes.TrimSpace(j), []byte("null")), nil
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

// crossCheck: what the API server, KEDA's webhook and the controllers would refuse or silently
// get wrong, as far as it can be seen without a cluster.
func crossCheck(objects []object) []error {
	var errs []error
	fail := func(o object, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", o, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	deployments := map[string]*appsv1.Deployment{}
	services := map[string]*corev1.Service{}
	for _, o := range objects {
		key := o.kind + "/" + o.meta.GetName()
		if seen[key] {
			fail(o, "rendered twice")
		}
		seen[key] = true
		for _, msg := range validation.IsDNS1123Subdomain(o.meta.GetName()) {
			fail(o, "name: %s", msg)
		}
		for _, e := range metavalidation.ValidateLabels(o.meta.GetLabels(), field.NewPath("metadata", "labels")) {
			fail(o, "%v", e)
		}
		switch obj := o.obj.(type) {
		case *appsv1.Deployment:
			deployments[obj.Name] = obj
		case *corev1.Service:
			services[obj.Name] = obj
		}
	}
	// selectsPods: the label selector matches the pod template of a rendered Deployment.
	selectsPods := func(sel labels.Selector) bool {
		for _, d := range deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				return true
			}
		}
		return false
	}
	for _, o := range objects {
		switch obj := o.obj.(type) {
		case *appsv1.Deployment:
			sel, err := metav1.LabelSelectorAsSelector(obj.Spec.Selector)
			if err != nil || obj.Spec.Selector == nil || sel.Empty() {
				fail(o, "spec.selector is missing or invalid: %v", err)
			} else if !sel.Matches(labels.Set(obj.Spec.Template.Labels)) {
				fail(o, "spec.selector does not match the pod template's labels")
			}
			errs = append(errs, checkContainers(o, obj.Spec.Template.Spec.Containers)...)
		case *corev1.Service:
			if !selectsPods(labels.SelectorFromSet(obj.Spec.Selector)) {
				fail(o, "spec.selector %v selects no rendered Deployment's pods", obj.Spec.Selector)
			}
		case *policyv1.PodDisruptionBudget:
			sel, err := metav1.LabelSelectorAsSelector(obj.Spec.Selector)
			if err != nil || !selectsPods(sel) {
				fail(o, "spec.selector selects no rendered Deployment's pods (%v)", err)
			}
		case *kedav1alpha1.ScaledObject:
			errs = append(errs, checkScaledObject(o, obj, deployments)...)
		case *monitoringv1.ServiceMonitor:
			errs = append(errs, checkServiceMonitor(o, obj, services)...)
		}
	}
	return errs
}

// checkContainers: probes name a port the container declares.
func checkContainers(o object, containers []corev1.Container) []error {
	var errs []error
	for _, c := range containers {
		ports := map[string]bool{}
		for _, p := range c.Ports {
			ports[p.Name] = true
		}
		for what, probe := range map[string]*corev1.Probe{
			"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe,
		} {
			if probe == nil || probe.HTTPGet == nil {
				continue
			}
			if p := probe.HTTPGet.Port; p.StrVal != "" && !ports[p.StrVal] {
				errs = append(errs, fmt.Errorf("%s: container %s: %s names port %q, which it does not declare", o, c.Name, what, p.StrVal))
			}
		}
	}
	return errs
}

// prometheusMetadata: the trigger metadata KEDA v2.21.0's prometheus scaler parses, copied from
// its pkg/scalers/prometheus_scaler.go (that package cannot be imported without every scaler's
// cloud SDK) without the authentication part. Parsed with KEDA's own scalersconfig, a trigger
// missing a required key or giving a bad value fails as the scaler would.
type prometheusMetadata struct {
	TriggerIndex int

	ServerAddress       string            `keda:"name=serverAddress,       order=triggerMetadata"`
	Query               string            `keda:"name=query,               order=triggerMetadata"`
	QueryParameters     map[string]string `keda:"name=queryParameters,     order=triggerMetadata,            optional"`
	Threshold           float64           `keda:"name=threshold,           order=triggerMetadata"`
	ActivationThreshold float64           `keda:"name=activationThreshold, order=triggerMetadata,            optional"`
	Namespace           string            `keda:"name=namespace,           order=triggerMetadata,            optional"`
	CustomHeaders       map[string]string `keda:"name=customHeaders,       order=triggerMetadata,            optional"`
	IgnoreNullValues    bool              `keda:"name=ignoreNullValues,    order=triggerMetadata,            default=true"`
	UnsafeSSL           bool              `keda:"name=unsafeSsl,           order=triggerMetadata,            optional"`
	AwsRegion           string            `keda:"name=awsRegion,           order=triggerMetadata;authParams, optional"`
	Timeout             time.Duration     `keda:"name=timeout,             order=triggerMetadata,            optional"`
	IdentityOwner       string            `keda:"name=identityOwner,       order=triggerMetadata,            optional"`
}

// prometheusKeys: the metadata keys the scaler reads (KEDA only logs others, behind a feature
// flag: a misspelled optional key would be silently ignored, so it fails here).
func prometheusKeys() map[string]bool {
	keys := map[string]bool{"authModes": true} // read by the authentication part left out above
	t := reflect.TypeFor[prometheusMetadata]()
	for i := 0; i < t.NumField(); i++ {
		for _, part := range strings.Split(t.Field(i).Tag.Get("keda"), ",") {
			if name, ok := strings.CutPrefix(strings.TrimSpace(part), "name="); ok {
				keys[name] = true
			}
		}
	}
	return keys
}

func checkScaledObject(o object, so *kedav1alpha1.ScaledObject, deployments map[string]*appsv1.Deployment) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", o, fmt.Sprintf(format, args...)))
	}
	// The checks of KEDA's admission webhook that need no cluster.
	for _, check := range []func() error{
		func() error { return kedav1alpha1.ValidateTriggers(so.Spec.Triggers) },
		func() error { return kedav1alpha1.CheckReplicaCountBoundsAreValid(so) },
		func() error { return kedav1alpha1.CheckFallbackValid(so) },
	} {
		if err := check(); err != nil {
			fail("%v", err)
		}
	}
	ref := so.Spec.ScaleTargetRef
	if ref == nil {
		fail("spec.scaleTargetRef is missing")
	} else if (ref.Kind != "" && ref.Kind != "Deployment") || deployments[ref.Name] == nil {
		fail("spec.scaleTargetRef names %q (kind %q), not a rendered Deployment", ref.Name, ref.Kind)
	} else if deployments[ref.Name].Spec.Replicas != nil {
		fail("Deployment %q sets spec.replicas: every upgrade would reset what KEDA scaled", ref.Name)
	}
	known := prometheusKeys()
	for i, t := range so.Spec.Triggers {
		if t.Type != "prometheus" {
			continue
		}
		for k := range t.Metadata {
			if !known[strings.TrimSuffix(k, "FromEnv")] {
				fail("triggers[%d].metadata.%s: not a key of KEDA's prometheus scaler", i, k)
			}
		}
		sc := scalersconfig.ScalerConfig{TriggerType: t.Type, TriggerMetadata: t.Metadata, TriggerIndex: i}
		if err := sc.TypedConfig(&prometheusMetadata{}); err != nil {
			fail("triggers[%d]: %v", i, err)
		}
	}
	return errs
}

func checkServiceMonitor(o object, sm *monitoringv1.ServiceMonitor, services map[string]*corev1.Service) []error {
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		return []error{fmt.Errorf("%s: spec.selector: %w", o, err)}
	}
	ports := map[string]bool{}
	for _, s := range services {
		if !sel.Matches(labels.Set(s.Labels)) {
			continue
		}
		if sm.Spec.JobLabel != "" && s.Labels[sm.Spec.JobLabel] == "" {
			return []error{fmt.Errorf("%s: selected Service %q lacks the jobLabel %q", o, s.Name, sm.Spec.JobLabel)}
		}
		for _, p := range s.Spec.Ports {
			ports[p.Name] = true
		}
	}
	var errs []error
	for i, e := range sm.Spec.Endpoints {
		if !ports[e.Port] {
			errs = append(errs, fmt.Errorf("%s: endpoints[%d] names a port no selected Service has", o, i))
		}
	}
	return errs
}

func writeRules(objects []object, dir string) error {
	for _, o := range objects {
		rule, ok := o.obj.(*monitoringv1.PrometheusRule)
		if !ok {
			continue
		}
		out, err := yaml.Marshal(rule.Spec)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, rule.Name+".yml"), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func validateCompose(file string) error {
	opts, err := cli.NewProjectOptions([]string{file}, cli.WithOsEnv, cli.WithDotEnv)
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return err
	}
	fmt.Printf("validate: %s: %d services\n", file, len(project.Services))
	return nil
}
