using MedSeg.Engine.Data.Volumes;

namespace MedSeg.Engine.Inference;

/// <summary>
/// Predicts a NIfTI volume with a 2D model: the volume is read (within <see cref="VolumeLimits"/>), cut into slices along
/// the axis its training data was sliced with (<see cref="VolumeSlicer"/>), each slice predicted with the preprocessing of
/// 2D images (<see cref="Predictor.PredictRasters"/>), and the label slices stacked back (<see cref="VolumeSlicer.Unslice"/>)
/// and written as <c>.nii.gz</c> over the input's header and affine (<see cref="NiftiWriter"/>): same shape, same
/// orientation, so it opens over the scan in 3D Slicer or ITK-SNAP. One channel per volume; a 4D multi-channel volume is
/// refused by name.
/// </summary>
public static class VolumePrediction
{
    /// <summary>Predicts <paramref name="inputPath"/> into <paramref name="outputPath"/>; returns the slice count.
    /// <paramref name="name"/> names the file in refusals.</summary>
    public static int Predict(Predictor predictor, string inputPath, string outputPath, SliceAxis axis, VolumeLimits? limits = null,
        string? name = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        name ??= Path.GetFileName(inputPath);
        var volume = NiftiVolume.Read(inputPath, limits, name);
        if (volume.Channels > 1)
            throw new VolumeRefusedException(name, MultiChannelProblem(volume.Channels));
        var slices = VolumeSlicer.Slice(volume, axis, name);
        var labels = new List<short[]>(slices.Count);
        foreach (var chunk in slices.Chunk(Math.Max(1, predictor.Options.BatchSize)))
        {
            ct.ThrowIfCancellationRequested();
            foreach (var mask in predictor.PredictRasters([.. chunk.Select(s => s.Image)], ct))
                labels.Add([.. mask.Pixels.Select(p => (short)p)]);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputPath))!);
        NiftiWriter.WriteLabelSlices(outputPath, volume.Header, axis, labels);
        return slices.Count;
    }

    /// <summary>Why a multi-channel volume is refused, and what to do.</summary>
    public static string MultiChannelProblem(int channels) =>
        $"the volume has {channels} channels; MedSeg predicts single-channel volumes only. Upload one channel per case " +
        "(the _0000 file of an nnU-Net case) to a model trained on that channel.";
}
