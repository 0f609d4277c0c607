package io.sluice.job.sim;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Renders the simulator's charts into one PNG with JFreeChart, headless: SLO attainment against
 * load per policy on top, then one TTFT CDF per class with a line per policy.
 */
public final class Plots {

    private static final int WIDTH = 1400;
    private static final int TOP_HEIGHT = 480;
    private static final int CLASS_HEIGHT = 400;
    private static final int CLASSES_PER_ROW = 3;
    private static final int MAX_CDF_POINTS = 400;

    private Plots() {}

    /**
     * Writes the charts.
     *
     * @param attainment per policy: (rate scale, attainment) points, sorted by scale
     * @param ttft per policy, per class name: sorted TTFTs in ms at the reported load
     */
    public static void write(Path png, Map<String, List<double[]>> attainment,
            Map<String, Map<String, double[]>> ttft, List<String> classNames, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int rows = (classNames.size() + CLASSES_PER_ROW - 1) / CLASSES_PER_ROW;
        BufferedImage image = new BufferedImage(WIDTH, TOP_HEIGHT + rows * CLASS_HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            attainmentChart(attainment, title).draw(g, new Rectangle2D.Double(0, 0, WIDTH, TOP_HEIGHT));
            int cellWidth = WIDTH / Math.min(CLASSES_PER_ROW, Math.max(1, classNames.size()));
            for (int i = 0; i < classNames.size(); i++) {
                String cls = classNames.get(i);
                int x = (i % CLASSES_PER_ROW) * cellWidth;
                int y = TOP_HEIGHT + (i / CLASSES_PER_ROW) * CLASS_HEIGHT;
                cdfChart(cls, ttft).draw(g, new Rectangle2D.Double(x, y, cellWidth, CLASS_HEIGHT));
            }
        } finally {
            g.dispose();
        }
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(image, "png", png.toFile())) {
            throw new IOException("no PNG writer available");
        }
    }

    private static JFreeChart attainmentChart(Map<String, List<double[]>> attainment, String title) {
        XYSeriesCollection data = new XYSeriesCollection();
        attainment.forEach((policy, points) -> {
            XYSeries s = new XYSeries(policy, true, false);
            for (double[] p : points) {
                s.add(p[0], 100.0 * p[1]);
            }
            data.addSeries(s);
        });
        JFreeChart chart = ChartFactory.createXYLineChart(title, "load (rate scale)", "SLO attainment (%)",
                data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setRenderer(new XYLineAndShapeRenderer(true, true));
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        NumberAxis y = (NumberAxis) plot.getRangeAxis();
        y.setRange(0, 100);
        return chart;
    }

    private static JFreeChart cdfChart(String cls, Map<String, Map<String, double[]>> ttft) {
        XYSeriesCollection data = new XYSeriesCollection();
        double min = Double.POSITIVE_INFINITY;
        for (Map.Entry<String, Map<String, double[]>> e : ttft.entrySet()) {
            double[] sorted = e.getValue().get(cls);
            XYSeries s = new XYSeries(e.getKey(), true, true);
            if (sorted != null && sorted.length > 0) {
                // Downsample evenly in rank: a CDF of 20k points draws no better than one of 400.
                int step = Math.max(1, sorted.length / MAX_CDF_POINTS);
                for (int i = 0; i < sorted.length; i += step) {
                    s.add(Math.max(sorted[i], 1e-3), (i + 1.0) / sorted.length);
                }
                s.add(Math.max(sorted[sorted.length - 1], 1e-3), 1.0);
                min = Math.min(min, Math.max(sorted[0], 1e-3));
            }
            data.addSeries(s);
        }
        JFreeChart chart = ChartFactory.createXYLineChart("TTFT CDF: " + cls, "TTFT (ms, log)", "fraction of requests",
                data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        if (min < Double.POSITIVE_INFINITY) {
            LogAxis x = new LogAxis("TTFT (ms, log)");
            x.setSmallestValue(1e-3);
            plot.setDomainAxis(x);
        }
        ((NumberAxis) plot.getRangeAxis()).setRange(0, 1.0);
        return chart;
    }
}
