package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/jmespath/go-jmespath"
)

// corpusLine is one `az acr` command line from ACR's quickstarts or the
// az acr reference, with "az acr" replaced by "acre", and the output shape
// the documentation shows for it. $(acre ...) is run and replaced by its
// output, as a shell would; $NAME is a value the test knows (HOOK, the
// webhook receiver; LOGIN_SERVER; DIGEST, the digest of hello-world:latest).
type corpusLine struct {
	line   string
	fields map[string]string // JMESPath on the JSON output -> its value ("*": present and not empty)
	text   []string          // for table and text output: lines that must appear (trailing spaces ignored; a final * matches any rest)
	stdin  string
}

// any is the want of a field that must be present and not empty.
const present = "*"

var corpus = []corpusLine{
	// Quickstart: create a registry with the Azure CLI; push and pull.
	{line: "acre create --resource-group myResourceGroup --name mycontainerregistry --sku Basic", fields: map[string]string{
		"name": "mycontainerregistry", "loginServer": "mycontainerregistry.localhost", "sku.name": "Basic", "sku.tier": "Basic",
		"id":   "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/acre/providers/Microsoft.ContainerRegistry/registries/mycontainerregistry",
		"type": "Microsoft.ContainerRegistry/registries", "provisioningState": "Succeeded", "adminUserEnabled": "false",
		"anonymousPullEnabled": "false", "creationDate": present, "publicNetworkAccess": "Enabled", "zoneRedundancy": "Disabled",
		"policies.retentionPolicy.status": "disabled", "policies.trustPolicy.status": "disabled",
		"policies.quarantinePolicy.status": "disabled", "policies.exportPolicy.status": "enabled"}},
	{line: "acre login --name mycontainerregistry", fields: map[string]string{"status": "Login Succeeded"}},
	{line: "acre login --name mycontainerregistry --expose-token", fields: map[string]string{"accessToken": present, "starts_with(loginServer, 'mycontainerregistry.localhost')": "true"}},
	{line: "acre repository list --name mycontainerregistry --output table", text: []string{"Result", "-----------", "hello-world"}},
	{line: "acre repository show-tags --name mycontainerregistry --repository hello-world --output table", text: []string{"Result", "latest", "v1"}},
	{line: "acre show --name myContainerRegistry --query loginServer --output tsv", text: []string{"mycontainerregistry.localhost"}},

	// az acr (registry)
	{line: "acre check-name -n doesthisnameexist", fields: map[string]string{"nameAvailable": "true"}},
	{line: "acre check-name -n mycontainerregistry", fields: map[string]string{"nameAvailable": "false", "reason": "AlreadyExists", "message": present}},
	{line: "acre list -o table", text: []string{
		"NAME                 RESOURCE GROUP    LOCATION    SKU       LOGIN SERVER                   CREATION DATE         ADMIN ENABLED",
		"-------------------  ----------------  ----------  --------  -----------------------------  --------------------  ---------------"}},
	{line: "acre list --resource-group myResourceGroup", fields: map[string]string{"[?name=='mycontainerregistry'].sku.name | [0]": "Basic"}},
	{line: "acre list --query '[].[name, loginServer]' -o tsv", text: []string{"mycontainerregistry\tmycontainerregistry.localhost"}},
	{line: "acre list --query '[].{Server:loginServer, Name:name}' -o table", text: []string{"Server                         Name", "mycontainerregistry.localhost  mycontainerregistry"}},
	{line: "acre show -n mycontainerregistry --query id --output tsv", text: []string{"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/acre/providers/Microsoft.ContainerRegistry/registries/mycontainerregistry"}},
	{line: "acre update -n mycontainerregistry --sku Standard", fields: map[string]string{"sku.name": "Standard"}},
	{line: "acre update --name mycontainerregistry --anonymous-pull-enabled", fields: map[string]string{"anonymousPullEnabled": "true"}},
	{line: "acre update --name mycontainerregistry --anonymous-pull-enabled false", fields: map[string]string{"anonymousPullEnabled": "false"}},
	{line: "acre update -n mycontainerregistry --admin-enabled true", fields: map[string]string{"adminUserEnabled": "true",
		"adminUserCredentials.username": "mycontainerregistry", "adminUserCredentials.passwords[0].name": "password",
		"adminUserCredentials.passwords[0].value": present, "adminUserCredentials.passwords[1].name": "password2"}},
	{line: "acre show-usage -n mycontainerregistry -o table", text: []string{
		"NAME                        LIMIT           CURRENT VALUE    UNIT",
		"Webhooks                    10                               Count"}},
	{line: "acre show-usage -n mycontainerregistry", fields: map[string]string{"value[?name=='Size'].unit | [0]": "Bytes", "value[?name=='Tokens'].limit | [0]": "500"}},
	{line: "acre check-health -n mycontainerregistry --yes", text: []string{"Fetch refresh token for registry 'mycontainerregistry.localhost' : OK", "Fetch access token for registry 'mycontainerregistry.localhost' : OK"}},

	// az acr credential
	{line: "acre credential show -n mycontainerregistry", fields: map[string]string{"username": "mycontainerregistry", "passwords[0].name": "password", "passwords[1].name": "password2", "note": present}},
	{line: "acre credential renew -n mycontainerregistry --password-name password2", fields: map[string]string{"username": "mycontainerregistry", "passwords[0].name": "password2", "passwords[0].value": present}},

	// az role assignment with the registry's id as the scope (the documented idiom)
	{line: "acre role assignment create --assignee ci-robot --scope $(acre show --name mycontainerregistry --query id --output tsv) --role acrpull",
		fields: map[string]string{"role": "AcrPull", "scope": "/registries/mycontainerregistry"}},

	// az acr repository
	{line: "acre repository list -n mycontainerregistry", fields: map[string]string{"[0]": "hello-world"}},
	{line: "acre repository show -n mycontainerregistry --repository hello-world", fields: map[string]string{"imageName": "hello-world",
		"registry": "mycontainerregistry.localhost", "tagCount": "2", "manifestCount": present, "changeableAttributes.writeEnabled": "true", "createdTime": present}},
	{line: "acre repository show -n mycontainerregistry --image hello-world:latest", fields: map[string]string{"name": "latest", "digest": "$DIGEST", "changeableAttributes.deleteEnabled": "true", "createdTime": present, "lastUpdateTime": present}},
	{line: "acre repository show -n mycontainerregistry --image hello-world", fields: map[string]string{"name": "latest", "digest": "$DIGEST"}},
	{line: "acre repository show -n mycontainerregistry --image hello-world@$DIGEST", fields: map[string]string{"digest": "$DIGEST", "mediaType": "application/vnd.oci.image.manifest.v1+json", "tags[0]": "latest"}},
	{line: "acre repository show-tags -n mycontainerregistry --repository hello-world --top 10 --orderby time_desc --detail", fields: map[string]string{"[?name=='latest'].digest | [0]": "$DIGEST", "length(@)": "2"}},
	{line: "acre repository show-manifests -n mycontainerregistry --repository hello-world -o table", text: []string{"Digest                                                                   Timestamp"}},
	{line: "acre repository show-manifests -n mycontainerregistry --repository hello-world --query \"[?tags[0]=='latest'].digest\" -o tsv", text: []string{"$DIGEST"}},
	{line: "acre repository update -n mycontainerregistry --image hello-world:v1 --write-enabled false", fields: map[string]string{"name": "v1", "changeableAttributes.writeEnabled": "false"}},
	{line: "acre repository update -n mycontainerregistry --image hello-world:v1 --write-enabled true --delete-enabled true", fields: map[string]string{"changeableAttributes.writeEnabled": "true"}},

	// az acr manifest
	{line: "acre manifest list-metadata -r mycontainerregistry -n hello-world", fields: map[string]string{"[?digest=='$DIGEST'].tags[0] | [0]": "latest", "[0].mediaType": present, "[0].imageSize": present}},
	{line: "acre manifest show -r mycontainerregistry -n hello-world:latest", fields: map[string]string{"schemaVersion": "2", "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers[0].digest": present}},
	{line: "acre manifest show $LOGIN_SERVER/hello-world:latest", fields: map[string]string{"schemaVersion": "2", "config.digest": present}},
	{line: "acre manifest show-metadata -r mycontainerregistry -n hello-world:latest", fields: map[string]string{"name": "latest", "digest": "$DIGEST"}},
	{line: "acre manifest show-metadata $LOGIN_SERVER/hello-world@$DIGEST", fields: map[string]string{"digest": "$DIGEST", "tags[0]": "latest"}},
	{line: "acre manifest update-metadata -r mycontainerregistry -n hello-world:latest --write-enabled false", fields: map[string]string{"changeableAttributes.writeEnabled": "false"}},
	{line: "acre manifest update-metadata -r mycontainerregistry -n hello-world:latest --write-enabled true", fields: map[string]string{"changeableAttributes.writeEnabled": "true"}},
	{line: "acre manifest list-referrers -r mycontainerregistry -n hello-world:latest", fields: map[string]string{"manifests[0].artifactType": "application/vnd.example.sbom", "manifests[0].digest": present}},

	// az acr scope-map
	{line: "acre scope-map create -n MyScopeMap -r mycontainerregistry --repository hello-world content/write content/read --description \"Sample scope map\"",
		fields: map[string]string{"name": "MyScopeMap", "scopeMapType": "UserDefined", "description": "Sample scope map",
			"actions[0]": "repositories/hello-world/content/write", "actions[1]": "repositories/hello-world/content/read", "id": present, "type": "Microsoft.ContainerRegistry/registries/scopeMaps"}},
	{line: "acre scope-map update -n MyScopeMap -r mycontainerregistry --add-repository hello-world content/delete --remove-repository hello-world content/write",
		fields: map[string]string{"length(actions)": "2", "contains(actions, 'repositories/hello-world/content/delete')": "true"}},
	{line: "acre scope-map show -n MyScopeMap -r mycontainerregistry", fields: map[string]string{"name": "MyScopeMap", "provisioningState": "Succeeded"}},
	{line: "acre scope-map list -r mycontainerregistry -o table", text: []string{
		"NAME                               TYPE           CREATION DATE         DESCRIPTION",
		"_repositories_pull                 SystemDefined                        Built-in scope map _repositories_pull"}},

	// az acr token
	{line: "acre token create -n MyToken -r mycontainerregistry --scope-map MyScopeMap", fields: map[string]string{"name": "MyToken", "status": "enabled",
		"scopeMapId":           "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/acre/providers/Microsoft.ContainerRegistry/registries/mycontainerregistry/scopeMaps/MyScopeMap",
		"credentials.username": "MyToken", "credentials.passwords[0].name": "password1", "credentials.passwords[0].value": present,
		"credentials.passwords[0].creationTime": present, "credentials.passwords[1].name": "password2", "provisioningState": "Succeeded"}},
	{line: "acre token create -n MyToken2 -r mycontainerregistry --repository hello-world content/read metadata/read --status disabled",
		fields: map[string]string{"status": "disabled", "scopeMap": "MyToken2-scope-map"}},
	{line: "acre token create -n MyToken3 -r mycontainerregistry --scope-map _repositories_pull --no-passwords --expiration-in-days 30",
		fields: map[string]string{"length(credentials.passwords)": "0"}},
	{line: "acre token update -n MyToken -r mycontainerregistry --status disabled", fields: map[string]string{"status": "disabled"}},
	{line: "acre token update -n MyToken -r mycontainerregistry --scope-map _repositories_pull --status enabled", fields: map[string]string{"scopeMap": "_repositories_pull", "status": "enabled"}},
	{line: "acre token show -n MyToken -r mycontainerregistry", fields: map[string]string{"name": "MyToken", "credentials.passwords[0].name": "password1", "credentials.passwords[0].creationTime": present}},
	{line: "acre token list -r mycontainerregistry -o table", text: []string{
		"NAME      SCOPE MAP           PASSWORD1 EXPIRY    PASSWORD2 EXPIRY    STATUS    PROVISIONING STATE    CREATION DATE",
		"MyToken   _repositories_pull  Never               Never               Enabled   Succeeded             2*"}},
	{line: "acre token credential generate -n MyToken -r mycontainerregistry --expiration-in-days 30", fields: map[string]string{"username": "MyToken",
		"passwords[0].name": "password1", "passwords[1].name": "password2", "passwords[0].value": present, "passwords[0].expiry": present}},
	{line: "acre token credential generate -n MyToken -r mycontainerregistry --password1 --expiration 2035-01-01T00:00:00Z", fields: map[string]string{
		"length(passwords)": "1", "passwords[0].name": "password1", "passwords[0].expiry": "2035-01-01T00:00:00Z"}},
	{line: "acre token credential delete -n MyToken -r mycontainerregistry --password2", fields: map[string]string{
		"length(credentials.passwords)": "1", "credentials.passwords[0].name": "password1"}},
	{line: "acre token delete -n MyToken3 -r mycontainerregistry --yes"},
	{line: "acre token delete -n MyToken2 -r mycontainerregistry", stdin: "y\n"},

	// az acr webhook
	{line: "acre webhook create -n mywebhook -r mycontainerregistry --uri $HOOK --actions push delete --scope hello-world:*", fields: map[string]string{
		"name": "mywebhook", "actions[0]": "push", "actions[1]": "delete", "scope": "hello-world:*", "status": "enabled",
		"id": present, "type": "Microsoft.ContainerRegistry/registries/webhooks", "provisioningState": "Succeeded"}},
	{line: "acre webhook list -r mycontainerregistry -o table", text: []string{
		"NAME       LOCATION    ACTIONS             SCOPE          STATUS",
		"mywebhook  local       ['push', 'delete']  hello-world:*  enabled"}},
	{line: "acre webhook show -n mywebhook -r mycontainerregistry", fields: map[string]string{"serviceUri": "$HOOK"}},
	{line: "acre webhook update -n mywebhook -r mycontainerregistry --headers Key=Value", fields: map[string]string{"name": "mywebhook"}},
	{line: "acre webhook get-config -n mywebhook -r mycontainerregistry", fields: map[string]string{"serviceUri": "$HOOK", "customHeaders.Key": "Value"}},
	{line: "acre webhook ping -n mywebhook -r mycontainerregistry", fields: map[string]string{"id": present}},
	{line: "acre webhook list-events -n mywebhook -r mycontainerregistry", fields: map[string]string{"[0].id": present,
		"[0].eventRequestMessage.content.action": "ping", "[0].eventRequestMessage.method": "POST"}},

	// az acr config retention
	{line: "acre update -n mycontainerregistry --sku Premium", fields: map[string]string{"sku.name": "Premium", "sku.tier": "Premium"}},
	{line: "acre config retention update --registry mycontainerregistry --status enabled --days 30 --type UntaggedManifests", fields: map[string]string{
		"status": "enabled", "days": "30", "type": "UntaggedManifests", "lastUpdatedTime": present}},
	{line: "acre config retention show --registry mycontainerregistry", fields: map[string]string{"status": "enabled", "days": "30"}},
	{line: "acre show -n mycontainerregistry --query policies.retentionPolicy.status -o tsv", text: []string{"enabled"}},

	// acr purge (run by ACR Tasks, here directly): the text summary
	{line: "acre purge --registry mycontainerregistry --filter 'hello-world:.*' --untagged --ago 0d --dry-run", text: []string{
		"Tags for this repository would be deleted: hello-world", "Number of tags to be deleted: 2"}},
	{line: "acre purge -r mycontainerregistry -f 'hello-world:^(?!latest$).*' --ago 0d", text: []string{
		"Deleting tags for repository: hello-world", "$LOGIN_SERVER/hello-world:v1", "Number of deleted tags: 1", "Number of deleted manifests: 0"}},

	// Deletes, last
	{line: "acre repository untag -n mycontainerregistry --image hello-world:latest"},
	{line: "acre manifest delete -r mycontainerregistry -n hello-world@$DIGEST --yes"},
	{line: "acre repository delete -n mycontainerregistry --repository hello-world --yes"},
	{line: "acre webhook delete -n mywebhook -r mycontainerregistry"},
	{line: "acre token delete -n MyToken -r mycontainerregistry --yes"},
	{line: "acre scope-map delete -n MyScopeMap -r mycontainerregistry --yes"},
	{line: "acre delete -n mycontainerregistry --yes"},
}

// TestAzCorpus runs every line of the corpus against a real server, in
// order, and checks the documented fields of each answer.
func TestAzCorpus(t *testing.T) {
	ts := startServer(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hook.Close()
	if code, _, errOut := run(t, ownerPassword+"\n", "account", "login", "--server", ts.URL, "-u", "owner", "--password-stdin"); code != 0 {
		t.Fatalf("sign in: %s", errOut)
	}
	if code, _, errOut := run(t, "", "identity", "create", "-n", "ci-robot", "--password", "ci-robot-password"); code != 0 {
		t.Fatalf("identity: %s", errOut)
	}
	vars := map[string]string{"HOOK": hook.URL, "LOGIN_SERVER": "mycontainerregistry.localhost"}
	for _, c := range corpus {
		if c.line == "acre login --name mycontainerregistry" { // the quickstart pushes after signing in
			p := &pusher{t: t, server: ts.URL, loginServer: vars["LOGIN_SERVER"]}
			vars["DIGEST"] = p.push("hello-world", "latest", "")
			p.push("hello-world", "v1", "")
			p.push("hello-world", "", vars["DIGEST"])
		}
		t.Run(c.line, func(t *testing.T) {
			args := expandLine(t, c.line, vars)
			code, out, errOut := run(t, c.stdin, args[1:]...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			checkOutput(t, out, c, vars)
		})
	}
}

var commandSubst = regexp.MustCompile(`\$\((acre [^)]*)\)`)

// expandLine substitutes $(acre ...) by running it, then $NAME, and splits words.
func expandLine(t *testing.T, line string, vars map[string]string) []string {
	t.Helper()
	line = commandSubst.ReplaceAllStringFunc(line, func(s string) string {
		inner := expandLine(t, commandSubst.FindStringSubmatch(s)[1], vars)
		code, out, errOut := run(t, "", inner[1:]...)
		if code != 0 {
			t.Fatalf("%s: exit %d %s", s, code, errOut)
		}
		return strings.TrimSpace(out)
	})
	for k, v := range vars {
		line = strings.ReplaceAll(line, "$"+k, v)
	}
	words, err := shellWords(line)
	if err != nil || len(words) < 2 || words[0] != "acre" {
		t.Fatalf("line %q: %v", line, err)
	}
	return words
}

func checkOutput(t *testing.T, out string, c corpusLine, vars map[string]string) {
	t.Helper()
	expand := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "$"+k, v)
		}
		return s
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[strings.TrimRight(l, " ")] = true
	}
	for _, want := range c.text {
		want = expand(want)
		found := lines[want]
		for l := range lines {
			found = found || strings.HasSuffix(want, "*") && strings.HasPrefix(l, strings.TrimSuffix(want, "*"))
		}
		if !found {
			t.Errorf("no line %q in:\n%s", want, out)
		}
	}
	if len(c.fields) == 0 {
		return
	}
	var data any
	if err := json.Unmarshal([]byte(out), &data); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for expr, want := range c.fields {
		got, err := jmespath.Search(expand(expr), data)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		s := fmt.Sprint(got)
		if f, ok := got.(float64); ok {
			s = cell(f)
		}
		switch {
		case want == present && (got == nil || s == "" || s == "[]" || s == "map[]"):
			t.Errorf("%s: missing or empty in\n%s", expr, out)
		case want != present && s != expand(want):
			t.Errorf("%s = %q, want %q", expr, s, expand(want))
		}
	}
}
