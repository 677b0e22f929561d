package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserOIDCSignIn signs in to the console end to end in Chromium:
// the sign-in page's button leads to the provider's own login page, and
// back on printgate the user is signed in, as the directory knows them,
// with the sign-in recorded as oidc. The refusal of a user the directory
// does not know is shown on the sign-in page, password form and all.
func TestBrowserOIDCSignIn(t *testing.T) {
	ctx := browser(t)
	e := newOIDCEnv(t, "")

	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/signin?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#sso-start`)),
		chromedp.Click(chromedp.CSS(`#sso-start`)),
		chromedp.WaitVisible(chromedp.CSS(`#op-login`)),
		chromedp.SendKeys(chromedp.CSS(`#op-username`), `CORP\Alice`),
		chromedp.SendKeys(chromedp.CSS(`#op-password`), opPassword),
		chromedp.Submit(chromedp.CSS(`#op-login`)),
		chromedp.WaitVisible(chromedp.CSS(`#pin-form`)),
	)
	screenshot(t, ctx, "oidc-signed-in")
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`span.who`)))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if who != "Alice Example" || loc != e.base+"/my" {
		t.Fatalf("signed in as %q at %s", who, loc)
	}
	if last := e.audit.last(); last.Name != ActionSignIn || last.Method != MethodOIDC || last.Actor != userName {
		t.Fatalf("recorded %+v", last)
	}
	if got := e.op.Challenges(); len(got) != 1 || got[0] != "S256" {
		t.Fatalf("code challenges %q", got)
	}

	// Sign out, then come back as someone the directory does not know.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#sso-start`)),
		chromedp.Click(chromedp.CSS(`#sso-start`)),
		chromedp.WaitVisible(chromedp.CSS(`#op-login`)),
		chromedp.SendKeys(chromedp.CSS(`#op-username`), "mallory"),
		chromedp.SendKeys(chromedp.CSS(`#op-password`), opPassword),
		chromedp.Submit(chromedp.CSS(`#op-login`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash.error`)),
	)
	screenshot(t, ctx, "oidc-unknown-user")
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.flash.error`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "You signed in as mallory, but printgate knows no user by that name") {
		t.Fatalf("refusal says %q", msg)
	}
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS(`#signin input[name="password"]`))); err != nil {
		t.Fatal("the password form is gone from the refusal page")
	}
	// Signed out and refused: My page sends the browser to sign in.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/my"), chromedp.WaitVisible(chromedp.CSS(`#signin`))); err != nil {
		t.Fatalf("after the refusal: %v", err)
	}
}
