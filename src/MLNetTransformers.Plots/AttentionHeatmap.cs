using MLNetTransformers.Interpretability;
using ScottPlot;
using ScottPlot.Plottables;

namespace MLNetTransformers.Plots;

/// <summary>
/// An <see cref="AttentionMap"/> as a heatmap: key tokens along the bottom, query tokens down the side (row 0 at the top,
/// as the matrix reads), weights as color (viridis, 0 to the map's largest weight) with a color bar.
/// </summary>
public static class AttentionHeatmap
{
    /// <summary>The heatmap as a ScottPlot plot, to show or restyle.</summary>
    /// <param name="map">The attention map.</param>
    public static Plot Create(AttentionMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Weights.Length != map.Rows * map.Columns)
            throw new ArgumentException($"Attention map '{map.Title}' holds {map.Weights.Length} weights for {map.Rows} × {map.Columns} tokens.", nameof(map));
        var data = new double[map.Rows, map.Columns];
        for (int r = 0; r < map.Rows; r++)
            for (int c = 0; c < map.Columns; c++) data[r, c] = map.Weight(r, c);
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(data);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(heatmap);
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, map.Columns).Select(c => Cell(map, 0, c).X).ToArray(), map.KeyTokens.ToArray());
        plot.Axes.Left.SetTicks(Enumerable.Range(0, map.Rows).Select(r => Cell(map, r, 0).Y).ToArray(), map.QueryTokens.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = -60;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Title(map.Title);
        return plot;
    }

    /// <summary>Writes the heatmap as a PNG (atomically: a finished file or none), sized to its tokens.</summary>
    /// <param name="map">The attention map.</param>
    /// <param name="path">The .png file to write.</param>
    public static void Save(AttentionMap map, string path)
    {
        var plot = Create(map);
        int width = Math.Clamp(180 + 26 * map.Columns, 480, 4000), height = Math.Clamp(260 + 22 * map.Rows, 420, 4000);
        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8] + ".png";
        try
        {
            plot.SavePng(temp, width, height);
            File.Move(temp, path, overwrite: true);
        }
        finally { if (File.Exists(temp)) File.Delete(temp); }
    }

    /// <summary>Where cell (row, column) sits in plot coordinates: row 0 at the top.</summary>
    internal static Coordinates Cell(AttentionMap map, int row, int column) => new(column, map.Rows - 1 - row);

    /// <summary>The value the heatmap draws at cell (row, column) of <paramref name="plot"/> (for checking a plot shows its map).</summary>
    internal static double Shown(Plot plot, AttentionMap map, int row, int column) =>
        plot.GetPlottables().OfType<Heatmap>().Single().GetValue(Cell(map, row, column));
}
