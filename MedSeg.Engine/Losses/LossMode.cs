namespace MedSeg.Engine.Losses;

/// <summary>What the logits and target of a loss look like (as segmentation_models_pytorch's <c>mode</c>).</summary>
public enum LossMode
{
    /// <summary>Logits N×1×H×W, target N×1×H×W (or N×H×W) of 0/1 floats; sigmoid.</summary>
    Binary,
    /// <summary>Logits N×C×H×W, target N×H×W (or N×1×H×W) of int64 class labels 0 … C−1; softmax over C.</summary>
    Multiclass,
    /// <summary>Logits N×C×H×W, target N×C×H×W of 0/1 floats, every channel its own binary problem; sigmoid.</summary>
    Multilabel,
}
