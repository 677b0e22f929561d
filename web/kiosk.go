package web

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// staticFiles are the console's style sheet and scripts. Each file gets a
// route of its own in the route table, so no request path ever names a
// file: there is nothing to traverse.
//
//go:embed static
var staticFiles embed.FS

// staticRoutes returns a GET route for each embedded static file.
func (s *server) staticRoutes() []route {
	var rs []route
	entries, err := fs.ReadDir(staticFiles, "static")
	if err != nil {
		panic(err) // the directory is embedded; it cannot be missing
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := staticFiles.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		ctype := mime.TypeByExtension(path.Ext(e.Name()))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		rs = append(rs, route{http.MethodGet, "/static/" + e.Name(), accessPublic, kindStatic, func(c *gin.Context) {
			// Revalidate each time: the files change with printgate and
			// are small.
			c.Header("Cache-Control", "no-cache")
			c.Data(http.StatusOK, ctype, data)
		}})
	}
	return rs
}

// kioskData is the kiosk page's data: the texts its script shows, in the
// page's language.
type kioskData struct {
	Messages map[string]string
	// TimeZone is the IANA name of the zone dates are shown in.
	TimeZone string
}

// kioskPage serves the release kiosk: a page for a device's panel browser
// that talks to the release API with the device's token, kept in the
// browser's local storage. It needs no session: the device token is its
// credential, and the API checks it on every call.
func (s *server) kioskPage(c *gin.Context) {
	loc := s.locale(c)
	msgs := make(map[string]string)
	for k, v := range loc.msgs {
		if name, ok := strings.CutPrefix(k, "kiosk.js."); ok {
			msgs[name] = v
		}
	}
	s.render(c, http.StatusOK, "kiosk", view{Title: "kiosk.title", Data: kioskData{Messages: msgs, TimeZone: s.tz.String()}})
}
