// Package deploy holds the files that run the portal elsewhere: the
// Kubernetes manifests beside this test, compose.yaml and the Containerfile
// at the top. This test holds them to the types they claim to be.
package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// documents splits a manifest file into its YAML documents and decodes
// each strictly into the API type its kind names: an unknown or misspelt
// field fails, as `kubectl apply --validate=strict` would.
func documents(t *testing.T, file string) []any {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if head.Kind == "" {
			continue // comments only
		}
		var obj any
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "batch/v1 Job":
			obj = &batchv1.Job{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "policy/v1 PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		default:
			t.Fatalf("%s: no type for %s %s", file, head.APIVersion, head.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s: %s: %v", file, head.Kind, err)
		}
		out = append(out, obj)
	}
	return out
}

func TestStrictDecodingCatchesATypo(t *testing.T) {
	doc := "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 2\n"
	if err := yaml.UnmarshalStrict([]byte(doc), &appsv1.Deployment{}); err == nil {
		t.Fatal("a misspelt field decoded")
	}
}

// serverShutdown is how long serve waits for requests in flight once its
// drain is over (cmd/clc/serve.go).
const serverShutdown = 20 * time.Second

func TestKubernetesManifests(t *testing.T) {
	var dep *appsv1.Deployment
	var job *batchv1.Job
	var pdb *policyv1.PodDisruptionBudget
	var svc *corev1.Service
	for _, f := range []string{"kubernetes/portal.yaml", "kubernetes/migrate-job.yaml"} {
		for _, obj := range documents(t, f) {
			switch o := obj.(type) {
			case *appsv1.Deployment:
				dep = o
			case *batchv1.Job:
				job = o
			case *policyv1.PodDisruptionBudget:
				pdb = o
			case *corev1.Service:
				svc = o
			}
		}
	}
	if dep == nil || job == nil || pdb == nil || svc == nil {
		t.Fatalf("missing: deployment %v, job %v, pdb %v, service %v", dep != nil, job != nil, pdb != nil, svc != nil)
	}
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	if got := c.Args; len(got) != 1 || got[0] != "serve" {
		t.Errorf("the Deployment runs %v", got)
	}
	if got := job.Spec.Template.Spec.Containers[0].Args; len(got) != 1 || got[0] != "migrate" {
		t.Errorf("the Job runs %v", got)
	}
	if job.Spec.Template.Spec.Containers[0].Image != c.Image {
		t.Error("the Job migrates with another image than the Deployment serves")
	}
	if r := c.ReadinessProbe; r == nil || r.HTTPGet == nil || r.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v", r)
	}
	if l := c.LivenessProbe; l == nil || l.HTTPGet == nil || l.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v", l)
	}
	// The drain outlasts the time the readiness probe needs to see it, and
	// the grace period outlasts the drain and the shutdown.
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	drain, err := time.ParseDuration(env["CLC_SHUTDOWN_DRAIN"])
	if err != nil {
		t.Fatalf("CLC_SHUTDOWN_DRAIN %q: %v", env["CLC_SHUTDOWN_DRAIN"], err)
	}
	r := c.ReadinessProbe
	noticed := time.Duration(r.PeriodSeconds*r.FailureThreshold+r.TimeoutSeconds) * time.Second
	if drain < noticed {
		t.Errorf("serve drains %v, but the readiness probe notices only after %v", drain, noticed)
	}
	if grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second; grace <= drain+serverShutdown {
		t.Errorf("grace period %v does not cover the drain %v and the shutdown %v", grace, drain, serverShutdown)
	}
	if env["CLC_ADDR"] != ":8080" || env["CLC_OPS_ADDR"] != ":9090" {
		t.Errorf("listeners %q %q", env["CLC_ADDR"], env["CLC_OPS_ADDR"])
	}
	// bench/RESULTS.md's peak RSS fits the request, with room for the limit.
	rss := resource.MustParse("84Mi")
	if req := c.Resources.Requests[corev1.ResourceMemory]; req.Cmp(rss) < 0 {
		t.Errorf("memory request %s is below the bench's peak RSS %s", req.String(), rss.String())
	}
	if lim := c.Resources.Limits[corev1.ResourceMemory]; lim.Cmp(c.Resources.Requests[corev1.ResourceMemory]) <= 0 {
		t.Errorf("memory limit %s", lim.String())
	}
	for name, sc := range map[string]*corev1.PodSecurityContext{"deployment": pod.SecurityContext, "job": job.Spec.Template.Spec.SecurityContext} {
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			t.Errorf("the %s may run as root", name)
		}
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || *dep.Spec.Replicas <= int32(pdb.Spec.MinAvailable.IntValue()) {
		t.Errorf("the budget %v leaves no replica to disrupt of %d", pdb.Spec.MinAvailable, *dep.Spec.Replicas)
	}
	for k, v := range pdb.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Labels[k] != v || svc.Spec.Selector[k] != v {
			t.Errorf("selector %s=%s does not match the pods", k, v)
		}
	}
}

// The Containerfile builds from nothing, with no shell to run, as a user
// who is not root; compose runs the migration before serve.
func TestContainerfileAndCompose(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var from, user []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			from = append(from, f[1])
		case "USER":
			user = append(user, f[1])
		case "RUN":
			t.Errorf("the Containerfile RUNs %q: the image has no shell to run it", line)
		}
	}
	if len(from) != 1 || from[0] != "scratch" {
		t.Errorf("FROM %v, want scratch alone", from)
	}
	if len(user) != 1 || strings.HasPrefix(user[0], "0") || strings.HasPrefix(user[0], "root") {
		t.Errorf("USER %v", user)
	}
	raw, err = os.ReadFile(filepath.Join("..", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type service struct {
		Image       string
		Command     []string
		Environment map[string]string
		DependsOn   map[string]struct{ Condition string } `json:"depends_on"`
		Ports       []string
		Volumes     []string
		Healthcheck map[string]any
		Restart     string
		StopGrace   string `json:"stop_grace_period"`
	}
	var compose struct {
		Services map[string]service
		Volumes  map[string]any
	}
	if err := yaml.UnmarshalStrict(raw, &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	portal, migrate := compose.Services["portal"], compose.Services["migrate"]
	if migrate.Command[0] != "migrate" || portal.Command[0] != "serve" || portal.Image != migrate.Image {
		t.Errorf("migrate %+v, portal %+v", migrate, portal)
	}
	if portal.DependsOn["migrate"].Condition != "service_completed_successfully" {
		t.Errorf("serve does not wait for the migration: %+v", portal.DependsOn)
	}
	if !strings.HasPrefix(compose.Services["db"].Image, "docker.io/library/postgres:") {
		t.Errorf("db image %q", compose.Services["db"].Image)
	}
}
