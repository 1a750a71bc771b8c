// One way to draw a report figure, shared by the rank and e2e reports: a Figure's gnuplot script is
// written to RUN_DIR/plots/NAME.gp (drawing it twice, PNG then SVG, so a user can edit and rerun it
// by hand) and rendered by gnuplot when it is on PATH.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "reports/report_writers.h"

namespace claa {

struct Figure {
  std::string name, title;
  int width = 0, height = 0;
  std::string body;     // gnuplot commands after the terminal is set
  int font_size = 10;
  std::string caption;  // the title the report shows ("" = title)
};

// The .gp script of a figure (pngcairo when available, else libgd's png).
std::string gnuplot_script(const Figure& f, bool cairo);

// The `plot` command of a heatmap of a matrix .dat (rows = y, columns = x, NaN = no value): one
// palette-filled box per cell, then, unless label_format is "", each cell's value printed with it
// (a sprintf format) in font size label_font. Boxes rather than `with image`, which draws nothing
// when the matrix has a single row or column (one diagnosed layer, one head, one heuristic).
std::string heatmap_plot(const std::string& dat, const std::string& label_format, int label_font);

// Writes every figure's .gp into `dir` and renders the PNG + SVG pairs; failures keep their .log.
PlotResult render_figures(const std::vector<Figure>& figures, const std::filesystem::path& dir,
                          const std::string& gnuplot);

}  // namespace claa
