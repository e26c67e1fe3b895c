package dev.tiercache.bench.report;

import java.util.List;
import java.util.Locale;

/**
 * A horizontal bar chart of comparisons in plain SVG: per comparison, a Tiercache bar and a reference bar scaled to
 * the larger of the two (the units differ from one comparison to the next), the figures, and the ratio coloured by
 * the verdict.
 */
public final class SvgChart {

  private static final int WIDTH = 900;
  private static final int LABEL_HEIGHT = 22;
  private static final int BAR_HEIGHT = 18;
  private static final int GROUP_GAP = 16;
  private static final int LEFT = 130;
  private static final int BAR_SPACE = 520;
  private static final String TIERCACHE = "#1f6fb4";
  private static final String REFERENCE = "#9a9a9a";

  private SvgChart() {}

  /**
   * Renders a chart.
   *
   * @param title the chart title
   * @param comparisons what to draw, top to bottom
   * @return the SVG document
   */
  public static String render(String title, List<Comparison> comparisons) {
    int groupHeight = LABEL_HEIGHT + 2 * BAR_HEIGHT + 4 + GROUP_GAP;
    int height = 60 + Math.max(1, comparisons.size()) * groupHeight + 30;
    StringBuilder svg = new StringBuilder();
    svg.append(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            + "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"13\">%n",
        WIDTH, height, WIDTH, height));
    svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, height));
    svg.append(text(16, 26, escape(title), "font-size=\"16\" font-weight=\"bold\""));
    svg.append(rect(16, 38, 12, 12, TIERCACHE)).append(text(32, 49, "Tiercache", ""));
    svg.append(rect(120, 38, 12, 12, REFERENCE)).append(text(136, 49, "reference", ""));
    svg.append(text(240, 49, "bars scaled per comparison; ratio = Tiercache / reference", "fill=\"#555\""));
    int y = 70;
    if (comparisons.isEmpty()) {
      svg.append(text(16, y + 14, "no comparison in this run", "fill=\"#555\""));
    }
    for (Comparison c : comparisons) {
      double max = Math.max(c.tiercache(), c.reference());
      String verdict = c.verdict();
      String colour = verdict.equals("MET") ? "#1a7f37" : verdict.equals("NOT MET") ? "#c62828" : "#333";
      svg.append(text(16, y + 15, escape(c.label()), "font-weight=\"bold\""));
      svg.append(text(WIDTH - 16, y + 15,
          escape(Numbers.ratio(c.ratio()) + (Double.isNaN(c.target()) ? "" : "  target " + c.targetText() + ": "
              + verdict)),
          "text-anchor=\"end\" fill=\"" + colour + "\" font-weight=\"bold\""));
      y += LABEL_HEIGHT;
      y = bar(svg, y, "Tiercache", c.tiercache(), max, c.unit(), TIERCACHE);
      y = bar(svg, y + 2, "reference", c.reference(), max, c.unit(), REFERENCE);
      y += GROUP_GAP;
    }
    svg.append("</svg>\n");
    return svg.toString();
  }

  private static int bar(StringBuilder svg, int y, String name, double value, double max, String unit,
      String colour) {
    double fraction = max > 0 && !Double.isNaN(value) ? value / max : 0;
    int width = (int) Math.round(Math.max(0, Math.min(1, fraction)) * BAR_SPACE);
    svg.append(text(LEFT - 8, y + 13, name, "text-anchor=\"end\" fill=\"#333\""));
    svg.append(rect(LEFT, y, Math.max(width, 1), BAR_HEIGHT - 2, colour));
    svg.append(text(LEFT + width + 6, y + 13, escape(Numbers.format(value) + " " + unit), ""));
    return y + BAR_HEIGHT;
  }

  private static String rect(int x, int y, int w, int h, String fill) {
    return String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>%n",
        x, y, w, h, fill);
  }

  private static String text(int x, int y, String body, String attributes) {
    return String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\"%s>%s</text>%n", x, y,
        attributes.isEmpty() ? "" : " " + attributes, body);
  }

  static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
