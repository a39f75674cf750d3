using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.Blocks;

/// <summary>Shared layer factories. Sequential containers get explicit index names so that state-dict keys match
/// the PyTorch references (<c>features.0.0.weight</c>, <c>downsample.1.running_mean</c>, ...).</summary>
public static class Layers
{
    /// <summary>conv (no bias) → BatchNorm → ReLU as a Sequential named 0, 1, 2 (mmseg/torchvision style).</summary>
    public static nn.Module<Tensor, Tensor> ConvBnRelu(long inChannels, long outChannels, long kernel = 3, long stride = 1,
        long dilation = 1, long groups = 1, bool relu6 = false)
    {
        var padding = dilation * (kernel - 1) / 2;
        return nn.Sequential(
            ("0", nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding, dilation: dilation, groups: groups, bias: false)),
            ("1", nn.BatchNorm2d(outChannels)),
            ("2", relu6 ? nn.ReLU6(inplace: true) : nn.ReLU(inplace: true)));
    }

    /// <summary>Bilinear resize (align_corners = false) to the spatial size of <paramref name="like"/>.</summary>
    public static Tensor ResizeLike(Tensor x, Tensor like) => ResizeTo(x, like.shape[2], like.shape[3]);

    /// <summary>Bilinear resize (align_corners = false) to H×W; returns a new tensor even when the size already matches.</summary>
    public static Tensor ResizeTo(Tensor x, long height, long width) =>
        x.shape[2] == height && x.shape[3] == width
            ? x.alias()
            : nn.functional.interpolate(x, size: [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
}
