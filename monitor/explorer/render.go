package explorer

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var funcs = template.FuncMap{
	"age":  duration,
	"sub1": func(page int) int { return page - 1 },
	"older": func(page, pages int) int {
		if page < pages {
			return page + 1
		}
		return 0
	},
	"deref": func(p *int64) int64 { return *p },
	"size": func(p *int64) string {
		if p == nil {
			return "unsigned"
		}
		return strconv.FormatInt(*p, 10) + " bytes"
	},
}

// pages are parsed once: html/template escapes every value by its
// context (text, attribute, URL), so a logged string cannot become markup.
var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		base := filepath.Base(n)
		if base == "layout.html" {
			continue
		}
		name := base[:len(base)-len(".html")]
		out[name] = template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}()

type pageData struct {
	Title string
	Nav   string
	Data  any
}

var titles = map[string]string{
	"home": "Log", "log": "Consistency chain", "product": "Releases", "release": "Release", "rebuilds": "Rebuild attestations", "alerts": "Alerts",
	"policies": "Policy chain", "lookup": "Lookup", "reports": "Failure reports", "report": "Failure report",
}

// servePage renders view with its template into a buffer first, so an
// error never leaves half a page.
func (e *Explorer) servePage(w http.ResponseWriter, r *http.Request, tmpl string, view func(*http.Request) (any, error)) {
	v, err := view(r)
	if err != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status(err))
		pages["error"].ExecuteTemplate(w, "layout", pageData{Title: "Error", Data: err.Error()})
		return
	}
	var b bytes.Buffer
	if err := pages[tmpl].ExecuteTemplate(&b, "layout", pageData{Title: titles[tmpl], Nav: tmpl, Data: v}); err != nil {
		http.Error(w, "rendering failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

// serveJSON answers /api/: the view, or {"error": "..."} with its status.
func (e *Explorer) serveJSON(w http.ResponseWriter, r *http.Request, view func(*http.Request) (any, error)) {
	v, err := view(r)
	if err != nil {
		writeJSON(w, status(err), map[string]string{"error": err.Error()})
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*") // public data, for others to build on
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// serveStatic serves a file of static/ by its name: no directory
// listing, nothing outside it.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if info, err := fs.Stat(staticFS, "static/"+name); err != nil || !info.Mode().IsRegular() || !staticName.MatchString(name) {
		http.Error(w, "no such file", http.StatusNotFound)
		return
	}
	http.ServeFileFS(w, r, staticFS, "static/"+name)
}

var staticName = regexp.MustCompile(`^[a-z0-9-]+\.(css|js)$`)

// evidenceName is how the monitor names an evidence file (old-new sizes).
var evidenceName = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}\.evidence$`)

// serveEvidence serves a file of DIR/evidence by its name, nothing else.
func (e *Explorer) serveEvidence(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !evidenceName.MatchString(name) {
		http.Error(w, "not an evidence file name", http.StatusNotFound)
		return
	}
	b, err := os.ReadFile(filepath.Join(e.cfg.Dir, "evidence", name))
	if err != nil {
		http.Error(w, "no such evidence file", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(b)
}
