//go:build e2e

package e2e

import (
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConformance runs the OCI distribution-spec conformance suite, signed
// in through the token flow (authentication on, as by default), with
// every API group on (version "dev": pull, push, cross-mount with and
// without from, upload cancel, tag params, referrers, tag list, content
// management, digest headers, sha512) and requires zero failures.
//
// Sparse manifests stay off: acre refuses a manifest whose blobs or child
// manifests are missing (MANIFEST_BLOB_UNKNOWN), so that nothing it
// acknowledges can fail to pull.
func TestConformance(t *testing.T) {
	runConformance(t, StartAcre(t, ""))
}

// runConformance runs the suite against a, every group on, and requires
// every check to pass.
func runConformance(t *testing.T, a *Acre) {
	t.Helper()
	bin := Tool(t, "conformance")
	results := t.TempDir()
	env := []string{
		"OCI_REGISTRY=" + a.Addr, "OCI_TLS=disabled", "OCI_VERSION=dev",
		"OCI_REPO1=conformance/repo1", "OCI_REPO2=conformance/repo2",
		"OCI_USERNAME=" + a.User, "OCI_PASSWORD=" + a.Password,
		"OCI_RESULTS_DIR=" + results, "OCI_LOG=warn",
		"OCI_API_PING=true", "OCI_API_PULL=true", "OCI_API_PUSH=true", "OCI_API_REFERRER=true",
		"OCI_API_BLOBS_ATOMIC=true", "OCI_API_BLOBS_DELETE=true", "OCI_API_BLOBS_DIGEST_HEADER=true",
		"OCI_API_BLOBS_MOUNT_ANONYMOUS=true", "OCI_API_BLOBS_UPLOAD_CANCEL=true",
		"OCI_API_MANIFESTS_ATOMIC=true", "OCI_API_MANIFESTS_DELETE=true", "OCI_API_MANIFESTS_DIGEST_HEADER=true",
		"OCI_API_MANIFESTS_TAG_PARAM=true",
		"OCI_API_TAGS_ATOMIC=true", "OCI_API_TAGS_DELETE=true", "OCI_API_TAGS_LIST=true",
		"OCI_DATA_IMAGE=true", "OCI_DATA_INDEX=true", "OCI_DATA_INDEX_LIST=true", "OCI_DATA_SPARSE=false",
		"OCI_DATA_ARTIFACT=true", "OCI_DATA_SUBJECT=true", "OCI_DATA_SUBJECT_MISSING=true",
		"OCI_DATA_ARTIFACT_LIST=true", "OCI_DATA_SUBJECT_LIST=true", "OCI_DATA_DATA_FIELD=true",
		"OCI_DATA_NONDISTRIBUTABLE=true", "OCI_DATA_CUSTOM_FIELDS=true", "OCI_DATA_NO_LAYERS=true",
		"OCI_DATA_EMPTY_BLOB=true", "OCI_DATA_SHA512=true",
	}
	out, err := RunErr(env, bin)
	counts := map[string]string{}
	for _, k := range []string{"Pass", "FAIL", "Error", "Skip", "Disabled", "Total"} {
		if m := regexp.MustCompile(`(?m)^\s*` + k + `\.+:\s+(\d+)`).FindStringSubmatch(out); m != nil {
			counts[k] = m[1]
		}
	}
	t.Logf("conformance: %v (report in %s)", counts, filepath.Join(results, "report.html"))
	if err != nil || counts["FAIL"] != "0" || counts["Error"] != "0" || counts["Skip"] != "0" || counts["Pass"] == "" || counts["Pass"] != counts["Total"] {
		var bad []string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, ": FAIL") || strings.Contains(l, ": Error") || strings.Contains(l, ": Skip") {
				bad = append(bad, l)
			}
		}
		t.Fatalf("conformance failed (err %v, counts %v):\n%s\n\n%s\n\nwhy:\n%s", err, counts, strings.Join(bad, "\n"), tail(out, 60), failures(results))
	}
}

// failures returns the failure texts of the suite's JUnit report in dir
// (what was sent and what came back), cut to a readable length.
func failures(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		return err.Error()
	}
	var sb strings.Builder
	for _, m := range regexp.MustCompile(`(?s)<failure[^>]*>(.*?)</failure>`).FindAllSubmatch(b, 5) {
		text := html.UnescapeString(string(m[1]))
		if len(text) > 3000 {
			text = text[:3000] + "..."
		}
		sb.WriteString(text + "\n---\n")
	}
	return sb.String()
}
