// Command plot draws the bench's figures of how a page's cost grows with
// the data: one line a page, time per request over the number of Smart
// Accounts, both on log scales, in a panel for each group of pages (a
// partner's, search). It reads the figures as JSON (written by
// bench/search) and writes a PNG.
//
//	plot -in scaling.json -out bench/scaling.png
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Figures is what bench/search hands over.
type Figures struct {
	Title  string   `json:"title"`
	XLabel string   `json:"x_label"`
	YLabel string   `json:"y_label"`
	Series []Series `json:"series"`
}

// Series is one line: a page, its points in the order of X, drawn in the
// panel of its name.
type Series struct {
	Panel  string  `json:"panel"`
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// Point is one measurement.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

func main() {
	in := flag.String("in", "", "the figures, as JSON (required)")
	out := flag.String("out", "", "the PNG to write (required)")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	if in == "" || out == "" {
		return errors.New("give -in and -out")
	}
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var f Figures
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	var panels []string
	for _, s := range f.Series {
		if !slices.Contains(panels, s.Panel) {
			panels = append(panels, s.Panel)
		}
	}
	if len(panels) == 0 {
		return errors.New("no figure to plot")
	}
	cols := min(2, len(panels))
	rows := (len(panels) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, name := range panels {
		if grid[i/cols][i%cols], err = panel(f, name); err != nil {
			return err
		}
	}
	const titleHeight = vg.Inch / 2
	img := vgimg.New(vg.Length(cols)*6*vg.Inch, vg.Length(rows)*4*vg.Inch+titleHeight)
	dc := draw.New(img)
	title := draw.TextStyle{Color: color.Black, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler,
		XAlign: draw.XCenter, YAlign: draw.YCenter}
	title.Font.Size = 14
	dc.FillText(title, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - titleHeight/2}, f.Title)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Inch / 4, PadY: vg.Inch / 4,
		PadTop: titleHeight, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// panel is the plot of the series of one panel.
func panel(f Figures, name string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = name, f.XLabel, f.YLabel
	// Sizes grow tenfold a step, and a page's time may grow as much: only
	// log scales show both ends.
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, sizeTicks(f.Series)
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	var lines []any
	for _, s := range f.Series {
		if s.Panel != name {
			continue
		}
		var xys plotter.XYs
		for _, pt := range s.Points {
			if pt.X > 0 && pt.Y > 0 { // a log scale has no place for zero
				xys = append(xys, plotter.XY{X: pt.X, Y: pt.Y})
			}
		}
		if len(xys) > 0 {
			lines = append(lines, s.Name, xys)
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	// Room above the lines for the legend, and below for a time that
	// shrank, so that a flat line stays in the middle.
	p.Y.Min, p.Y.Max = p.Y.Min/2, p.Y.Max*4
	return p, nil
}

func sizeTicks(series []Series) plot.ConstantTicks {
	var xs []float64
	for _, s := range series {
		for _, pt := range s.Points {
			if pt.X > 0 && !slices.Contains(xs, pt.X) {
				xs = append(xs, pt.X)
			}
		}
	}
	slices.Sort(xs)
	ticks := make(plot.ConstantTicks, len(xs))
	for i, x := range xs {
		ticks[i] = plot.Tick{Value: x, Label: short(x)}
	}
	return ticks
}

func short(x float64) string {
	switch {
	case x >= 1e6 && math.Mod(x, 1e6) == 0:
		return fmt.Sprintf("%.0fM", x/1e6)
	case x >= 1e3 && math.Mod(x, 1e3) == 0:
		return fmt.Sprintf("%.0fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// oneTwoFive labels 1, 2 and 5 of each power of ten in range, so that a
// range narrower than tenfold still has labels.

// logTicks labels 1, 2 and 5 of each power of ten in range, so that a
// range narrower than tenfold still has labels, and marks the rest.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for m := 1.0; m < 10; m++ {
			if v := m * math.Pow(10, e); v >= lo && v <= hi {
				t := plot.Tick{Value: v}
				if m == 1 || m == 2 || m == 5 {
					t.Label = strconv.FormatFloat(v, 'g', -1, 64)
				}
				ticks = append(ticks, t)
			}
		}
	}
	return ticks
}
