package components

// Field is one labelled form control and what is wrong with it.
type Field struct {
	ID string
	// Name is the form name; "" means ID. Several forms on one page need
	// distinct IDs for one name.
	Name  string
	Label string
	Value string
	Hint  string
	Error *FieldMessage
	// Type is the input type ("text", "email"); "textarea" for a text area,
	// "select" for a choice of Options.
	Type      string
	Options   []Choice
	Required  bool
	MaxLength int
	ReadOnly  bool
	// Autocomplete is the input's autocomplete token, if any.
	Autocomplete string
}

// Choice is one option of a select: its value, its words, and the language
// those words are in when it differs from the page's ("" when the same).
type Choice struct {
	Value string
	Label string
	Lang  string
}

// FieldMessage is a translated message, with a link the message offers.
type FieldMessage struct {
	Text     string
	LinkHref string
	LinkText string
}

func (f Field) describedBy() string {
	ids := ""
	if f.Hint != "" {
		ids = f.ID + "-hint"
	}
	if f.Error != nil {
		if ids != "" {
			ids += " "
		}
		ids += f.ID + "-error"
	}
	return ids
}

func (f Field) name() string {
	if f.Name != "" {
		return f.Name
	}
	return f.ID
}
