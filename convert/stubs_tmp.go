package convert

import "errors"

func (im *importer) importClaudeCode(files []string) error { return errors.New("todo") }
func (im *importer) importCodex(files []string) error      { return errors.New("todo") }
