package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/botgate/botgate"
)

func (f *Finding) where() string {
	if f.Position != nil && f.Position.Line > 0 {
		return f.Position.String()
	}
	return f.Subject.FullName()
}

// WriteText writes one line per finding, "WHERE: SEVERITY ID name:
// message", WHERE being file:line:column when the subject was declared in
// a manifest, and a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for i := range r.Findings {
		f := &r.Findings[i]
		fmt.Fprintf(&b, "%s: %s %s %s: %s\n", f.where(), f.Severity, f.RuleID, f.Rule, f.Message)
	}
	c := r.Counts()
	if len(r.Findings) == 0 {
		b.WriteString("No findings.\n")
	} else {
		fmt.Fprintf(&b, "%s: %s, %s, %s.\n", count(len(r.Findings), "finding"), count(c.Errors, "error"), count(c.Warnings, "warning"), count(c.Notes, "note"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type reportJSON struct {
	At       string    `json:"at"`
	Source   string    `json:"source,omitempty"`
	Counts   Counts    `json:"counts"`
	Findings []Finding `json:"findings"`
}

// WriteJSON writes the report as indented JSON: time, counts, findings.
func (r *Report) WriteJSON(w io.Writer) error {
	out := reportJSON{At: r.At.UTC().Format("2006-01-02T15:04:05Z07:00"), Source: r.Source, Counts: r.Counts(), Findings: r.Findings}
	return writeJSON(w, out)
}

func writeJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return botgate.E("lint.WriteJSON", botgate.KindInternal, err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// SARIF 2.1.0 document types: only the parts botgate fills.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string       `json:"id"`
		Name                 string       `json:"name"`
		ShortDescription     sarifText    `json:"shortDescription"`
		Help                 sarifText    `json:"help"`
		DefaultConfiguration sarifDefault `json:"defaultConfiguration"`
	}
	sarifDefault struct {
		Level string `json:"level"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifText         `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          map[string]any    `json:"properties,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
		LogicalLocations []sarifLogical `json:"logicalLocations"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           sarifRegion   `json:"region"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
	sarifLogical struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
)

// SARIFSchema is the schema URI written in SARIF output.
const SARIFSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// WriteSARIF writes the report as a SARIF 2.1.0 log with one run: the rules
// that ran in tool.driver.rules and one result per finding, located
// logically at its subject ("token/12", "automation/danger-review") and
// physically at file:line:column when declared in a manifest; other
// findings of a run over a manifest point at its first line, since
// code-scanning services (GitHub's among them) want a file on every result.
func (r *Report) WriteSARIF(w io.Writer) error {
	rules := r.Rules
	if rules == nil {
		rules = Rules()
	}
	index := map[string]int{}
	tool := r.Tool
	if tool == "" {
		tool = "botgate-lint"
	}
	driver := sarifDriver{Name: tool, InformationURI: "https://github.com/botgate/botgate", Rules: []sarifRule{}}
	for i, rl := range rules {
		index[rl.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{ID: rl.ID, Name: rl.Name, ShortDescription: sarifText{rl.Summary},
			Help: sarifText{rl.Help}, DefaultConfiguration: sarifDefault{string(rl.Severity)}})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	for _, f := range r.Findings {
		name := f.Subject.Name
		if name == "" {
			name = f.Subject.FullName()
		}
		loc := sarifLocation{LogicalLocations: []sarifLogical{{Name: name, FullyQualifiedName: f.Subject.FullName(), Kind: "resource"}}}
		switch {
		case f.Position != nil && f.Position.Line > 0 && f.Position.File != "":
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: f.Position.File},
				Region: sarifRegion{StartLine: f.Position.Line, StartColumn: f.Position.Column}}
		case r.Source != "":
			// A live-state finding (a token, a secret) has no line of its
			// own; code-scanning services need a file, so it points at the
			// manifest the run checked.
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: r.Source}, Region: sarifRegion{StartLine: 1}}
		}
		res := sarifResult{RuleID: f.RuleID, RuleIndex: index[f.RuleID], Level: string(f.Severity), Message: sarifText{f.Message},
			Locations:           []sarifLocation{loc},
			PartialFingerprints: map[string]string{"botgateSubject/v1": f.RuleID + ":" + f.Subject.FullName()}}
		if len(f.Suggested) > 0 {
			res.Properties = map[string]any{"suggestedScopes": f.Suggested.Strings()}
		}
		run.Results = append(run.Results, res)
	}
	return writeJSON(w, sarifLog{Schema: SARIFSchema, Version: "2.1.0", Runs: []sarifRun{run}})
}

func count(n int, noun string) string {
	return fmt.Sprintf("%d %s", n, plural(n, noun, noun+"s"))
}
