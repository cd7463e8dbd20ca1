// Package deploy holds the deployment manifests' checks. It is its own
// module so that Kubernetes' API types, which the strict decoding needs,
// stay out of agentperf's own requirements; `make test` runs it.
package deploy

import (
	"github.com/agentperf/agentperf/replay"
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestReplayJobManifest decodes deploy/k8s/replay-job.yaml strictly into
// the Kubernetes batch/v1 Job type (unknown or misplaced fields fail) and
// checks that it is an Indexed Job whose pods run consistent shards.
func TestReplayJobManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("k8s", "replay-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(data, &job); err != nil {
		t.Fatalf("replay-job.yaml is not a valid batch/v1 Job: %v", err)
	}
	// The strict decoder does catch a misspelt field.
	bad := strings.Replace(string(data), "completionMode:", "completionsMode:", 1)
	if err := yaml.UnmarshalStrict([]byte(bad), &batchv1.Job{}); err == nil {
		t.Fatal("a misspelt field decoded without error: the check is not strict")
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Fatalf("apiVersion/kind = %s/%s", job.APIVersion, job.Kind)
	}
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("completionMode %v, want Indexed", s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Fatalf("completions %v and parallelism %v must be equal (all shards run at once)", s.Completions, s.Parallelism)
	}
	if s.BackoffLimit == nil || *s.BackoffLimit != 0 {
		t.Errorf("backoffLimit %v, want 0 (a retried shard would replay twice)", s.BackoffLimit)
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	args := map[string]string{}
	for _, a := range c.Args[1:] {
		k, v, _ := strings.Cut(a, "=")
		args[k] = v
	}
	if c.Args[0] != "replay" {
		t.Fatalf("first arg %q, want replay", c.Args[0])
	}
	shard, err := replay.ParseShard(args["--shard"], func(string) string { return "0" })
	if err != nil || shard.Count != int(*s.Completions) {
		t.Errorf("--shard %q (%v): count %d, want completions %d", args["--shard"], err, shard.Count, *s.Completions)
	}
	for _, need := range []string{"--traces", "--target", "--start-at", "--run-id", "--out", "--users"} {
		if args[need] == "" {
			t.Errorf("args lack %s", need)
		}
	}
	if !strings.Contains(args["--out"], "$(JOB_COMPLETION_INDEX)") {
		t.Errorf("--out %q: each shard needs its own file", args["--out"])
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	// Every $(VAR) in args must be declared in env, or Kubernetes leaves it
	// unexpanded.
	for _, a := range c.Args {
		for rest := a; ; {
			i := strings.Index(rest, "$(")
			if i < 0 {
				break
			}
			j := strings.IndexByte(rest[i:], ')')
			name := rest[i+2 : i+j]
			if _, ok := env[name]; !ok {
				t.Errorf("arg %q uses $(%s), which is not in env", a, name)
			}
			rest = rest[i+j:]
		}
	}
	if e := env["JOB_COMPLETION_INDEX"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil ||
		!strings.Contains(e.ValueFrom.FieldRef.FieldPath, "job-completion-index") {
		t.Errorf("JOB_COMPLETION_INDEX env must come from the job-completion-index annotation")
	}
	mounts := map[string]bool{}
	for _, v := range pod.Volumes {
		mounts[v.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !mounts[m.Name] {
			t.Errorf("volume mount %q has no volume", m.Name)
		}
	}
}
