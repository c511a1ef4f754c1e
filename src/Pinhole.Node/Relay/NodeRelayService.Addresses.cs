namespace Pinhole.Node;

public sealed partial class NodeRelayService
{
    /// <inheritdoc/>
    /// <remarks>Raised when a reservation is made or lost.</remarks>
    public event EventHandler? AddressesChanged;

    private void OnAddressesChanged() => AddressesChanged?.Invoke(this, EventArgs.Empty);
}
