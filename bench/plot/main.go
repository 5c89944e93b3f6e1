// Command plot draws the bench's figures of how a page's cost grows with
// the data: one line a page, time per request over the number of Smart
// Accounts, both on log scales. It reads the figures as JSON (written by
// bench/search) and writes a PNG.
//
//	plot -in scaling.json -out bench/scaling.png
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Figures is what bench/search hands over.
type Figures struct {
	Title  string   `json:"title"`
	XLabel string   `json:"x_label"`
	YLabel string   `json:"y_label"`
	Series []Series `json:"series"`
}

// Series is one line: a page, its points in the order of X.
type Series struct {
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
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = f.Title, f.XLabel, f.YLabel
	// Sizes grow tenfold a step, and a page's time from tenths of a
	// millisecond to hundreds: only log scales show both ends.
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, sizeTicks(f.Series)
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, oneTwoFive{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	var lines []any
	for _, s := range f.Series {
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
		return errors.New("no figure to plot")
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return err
	}
	return p.Save(10*vg.Inch, 6*vg.Inch, out)
}

// sizeTicks labels the data sizes measured, as 10k, 100k, 1M.
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
type oneTwoFive struct{}

func (oneTwoFive) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, e); v >= lo && v <= hi {
				ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprintf("%g", v)})
			}
		}
	}
	return ticks
}
