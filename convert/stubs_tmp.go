package convert

import "errors"

func (im *importer) importCodex(files []string) error      { return errors.New("todo") }
