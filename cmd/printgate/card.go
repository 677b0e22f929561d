package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/credential/cardreader"
	"github.com/printgate/printgate/release/directory"
)

func (a *app) cardCommand() *cobra.Command {
	card := &cobra.Command{Use: "card", Short: "Enrol, list and remove IC cards"}
	card.AddCommand(a.cardAddCommand(), a.cardRemoveCommand(), a.cardListCommand(), a.cardImportCommand())
	return card
}

// uidOnStandardInput accepts NAME alone, and refuses the old form NAME
// UID with how to do it now; the message never repeats the UID.
func uidOnStandardInput(verb string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 2 {
			return fmt.Errorf("card %s: the card UID is no longer taken as an argument, where ps and shell history "+
				"would keep it: give it on standard input (printf '%%s\\n' \"$UID\" | printgate card %s %s), "+
				"or enrol many from a file (printgate card import FILE.csv)", verb, verb, args[0])
		}
		return cobra.ExactArgs(1)(cmd, args)
	}
}

// readCard reads a card UID from standard input and returns it
// canonical, read in format.
func (a *app) readCard(format cardreader.Format) (string, error) {
	line, err := a.readSecret("card UID")
	if err != nil {
		return "", err
	}
	uid, err := format.Normalize(line)
	if err != nil {
		return "", fmt.Errorf("card UID, read as %s: %w", format, err)
	}
	return uid, nil
}

func (a *app) cardAddCommand() *cobra.Command {
	var spec string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Enrol a card; its UID (FeliCa IDm or MIFARE UID) is read from standard input",
		Args:  uidOnStandardInput("add"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := cardreader.Parse(spec)
			if err != nil {
				return err
			}
			return a.withStack(cmd, func(st *stack) error {
				// By login name only: an employee number that is also
				// someone's login must not enrol the card to another.
				id, err := directory.FindLogin(cmd.Context(), st.dir, args[0])
				if err != nil {
					return fmt.Errorf("user %s: %w", args[0], err)
				}
				uid, err := a.readCard(format)
				if err != nil {
					return err
				}
				fp, err := st.creds.Fingerprint(uid)
				if err != nil {
					return err
				}
				rec := st.adminHook(cmd, audit.EventCardAdded, map[string]string{"user": id.Name, "fingerprint": fp})
				account := credential.Account{Name: id.Name, ID: id.AccountID}
				if err := st.creds.EnrolCard(cmd.Context(), account, uid, rec); err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "card %s enrolled for %s\n", fp, id.Name)
				return err
			})
		},
	}
	add.Flags().StringVar(&spec, "reader-format", "hex", "how the UID on standard input is written: "+readerFormatSteps)
	return add
}

func (a *app) cardRemoveCommand() *cobra.Command {
	var spec, fingerprint string
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a card: by --fingerprint (see card list), or by its UID read from standard input",
		Args:  uidOnStandardInput("remove"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := cardreader.Parse(spec)
			if err != nil {
				return err
			}
			return a.withStack(cmd, func(st *stack) error {
				if fingerprint == "" {
					uid, err := a.readCard(format)
					if err != nil {
						return err
					}
					if fingerprint, err = st.creds.Fingerprint(uid); err != nil {
						return err
					}
				}
				rec := st.adminHook(cmd, audit.EventCardRemoved, map[string]string{"user": args[0], "fingerprint": fingerprint})
				if err := st.creds.RemoveCardByFingerprint(cmd.Context(), args[0], fingerprint, rec); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.stdout, "card %s removed from %s\n", fingerprint, args[0])
				return err
			})
		},
	}
	remove.Flags().StringVar(&fingerprint, "fingerprint", "", "the card's fingerprint, as card list shows it")
	remove.Flags().StringVar(&spec, "reader-format", "hex", "how the UID on standard input is written: "+readerFormatSteps)
	return remove
}

func (a *app) cardListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list [NAME]",
		Short: "List enrolled cards by fingerprint (never the UID), with their users and enrolment times",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStack(cmd, func(st *stack) error {
				var cards []credential.OwnedCard
				if len(args) == 0 {
					all, err := st.creds.AllCards(cmd.Context())
					if err != nil {
						return err
					}
					cards = all
				} else {
					// A user gone from the directory may still have cards.
					name := args[0]
					if id, err := directory.LookupName(cmd.Context(), st.dir, name); err == nil {
						name = id.Name
					} else if !errors.Is(err, directory.ErrNotFound) {
						return fmt.Errorf("user %s: %w", name, err)
					}
					some, err := st.creds.Cards(cmd.Context(), name)
					if err != nil {
						return err
					}
					for _, c := range some {
						cards = append(cards, credential.OwnedCard{User: name, Card: c})
					}
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "USER\tFINGERPRINT\tENROLLED")
				for _, c := range cards {
					fmt.Fprintf(w, "%s\t%s\t%s\n", shown(c.User), c.Fingerprint, c.AddedAt.UTC().Format(time.RFC3339))
				}
				return w.Flush()
			})
		},
	}
}

func (a *app) cardImportCommand() *cobra.Command {
	var spec string
	var partial, check bool
	imp := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Enrol cards from a CSV file of lines: user, card UID[, reader format]; - reads standard input",
		Long: "Enrol cards from a CSV file of lines: user, card UID and optionally the reader format the UID is\n" +
			"written in (else --reader-format). A first line \"user,...\" is a header; lines starting with # are\n" +
			"comments. If a line is refused (unknown user, unreadable UID, a card of another user) nothing is\n" +
			"enrolled unless --partial; every refused line is reported with its number and why. The import is\n" +
			"audited as one action with its counts, never the UIDs.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := cardreader.Parse(spec)
			if err != nil {
				return err
			}
			lines, err := a.readCardFile(args[0], format)
			if err != nil {
				return err
			}
			return a.withStack(cmd, func(st *stack) error {
				return a.importCards(cmd, st, lines, credential.ImportOptions{Partial: partial, CheckOnly: check})
			})
		},
	}
	imp.Flags().StringVar(&spec, "reader-format", "hex", "how the file's UIDs are written, where a line names no format: "+readerFormatSteps)
	imp.Flags().BoolVar(&partial, "partial", false, "enrol the lines that are not refused")
	imp.Flags().BoolVar(&check, "check", false, "only check the file and report; enrol nothing")
	return imp
}

// readerFormatSteps is the syntax of a reader format, for flag help.
const readerFormatSteps = "steps, comma-separated, from prefix:TEXT, strip:N, hex or dec or dec:BYTES, reverse"

func (a *app) readCardFile(name string, format cardreader.Format) ([]cardreader.Line, error) {
	var r io.Reader = a.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	lines, err := cardreader.ReadCSV(r, format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: no cards", name)
	}
	return lines, nil
}

// importCards enrols the cards of lines whose users the directory knows
// by login name, and reports every refused line by its number and why,
// and every line whose login is another user name's by the user who gets
// its card.
func (a *app) importCards(cmd *cobra.Command, st *stack, lines []cardreader.Line, opts credential.ImportOptions) error {
	refused := map[int]string{} // line number → why
	var cards []credential.Enrolment
	var from []int // line number of each of cards
	users := map[string]directory.Identity{}
	for _, l := range lines {
		if l.Err != nil {
			refused[l.N] = l.Err.Error()
			continue
		}
		id, ok := users[l.User]
		if !ok {
			// By login name only, never by employee number: a number
			// in the file that is someone's employee number and not a
			// login would enrol the card to that someone.
			found, err := directory.FindLogin(cmd.Context(), st.dir, l.User)
			switch {
			case errors.Is(err, directory.ErrNotFound):
			case err != nil:
				return fmt.Errorf("line %d: user lookup: %w", l.N, err)
			default:
				id = found
			}
			users[l.User] = id
		}
		if id.Name == "" {
			refused[l.N] = "no such user"
			continue
		}
		if !strings.EqualFold(id.Name, l.User) {
			// A further login name (attributes.logins): say whose card
			// it becomes.
			fmt.Fprintf(a.stdout, "line %d: %s is user %s\n", l.N, shown(l.User), shown(id.Name))
		}
		cards = append(cards, credential.Enrolment{User: id.Name, UID: l.UID, AccountID: id.AccountID})
		from = append(from, l.N)
	}
	if len(refused) > 0 && !opts.Partial {
		opts.CheckOnly = true
	}
	opts.Record = func(tx *gorm.DB, r credential.ImportResult) error {
		return st.adminHook(cmd, audit.EventCardsImported, map[string]string{"added": strconv.Itoa(r.Added),
			"already": strconv.Itoa(r.Already), "refused": strconv.Itoa(len(refused) + len(r.Refused))})(tx)
	}
	res, err := st.creds.ImportCards(cmd.Context(), cards, opts)
	if err != nil && !errors.Is(err, credential.ErrImportRefused) {
		return err
	}
	for i, why := range res.Refused {
		refused[from[i]] = why.Error()
	}
	for _, l := range lines {
		if why, ok := refused[l.N]; ok {
			fmt.Fprintf(a.stdout, "line %d refused: %s\n", l.N, why)
		}
	}
	if len(refused) > 0 && !opts.Partial {
		return fmt.Errorf("card import: %d of %d lines refused, nothing enrolled: correct them, "+
			"or enrol the others with --partial", len(refused), len(lines))
	}
	verb := "enrolled"
	if opts.CheckOnly {
		verb = "would be enrolled"
	}
	_, err = fmt.Fprintf(a.stdout, "%d cards %s, %d already enrolled, %d lines refused\n", res.Added, verb, res.Already, len(refused))
	return err
}
