import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from mixae_graph import experts as experts_module
from mixae_graph.experts import ExpertBank
from mixae_graph.routing import reconstruction_error

N_FEATURES, HIDDEN, LATENT = 12, (9, 7), 3


def make_bank(n_active=3, max_experts=5, **kwargs):
    torch.manual_seed(0)
    bank = ExpertBank(N_FEATURES, HIDDEN, LATENT, max_experts=max_experts, **kwargs)
    for _ in range(n_active):
        bank.add_expert()
    return bank


def as_sequential(bank, slot):
    """A plain nn.Sequential holding one slot's weights: the reference the einsum must match."""
    n_layers = len(bank.weights)
    layers = []
    for layer, (weight, bias) in enumerate(zip(bank.weights, bank.biases)):
        linear = nn.Linear(*weight[slot].shape)
        with torch.no_grad():
            linear.weight.copy_(weight[slot].T)
            linear.bias.copy_(bias[slot])
        layers.append(linear)
        if layer not in (bank.n_encoder_layers - 1, n_layers - 1):
            layers.append(nn.ELU() if bank.activation == "elu" else nn.ReLU())
    return nn.Sequential(*layers[: 2 * len(HIDDEN) + 1]), nn.Sequential(*layers[2 * len(HIDDEN) + 1 :])


def test_shapes_and_layer_layout():
    bank = make_bank()
    reconstruction, codes = bank(torch.randn(4, N_FEATURES))
    assert reconstruction.shape == (4, 3, N_FEATURES) and codes.shape == (4, 3, LATENT)
    assert [len(w) for w in bank.weights] == [5] * 6 and [len(b) for b in bank.biases] == [5] * 6
    assert [tuple(w[4].shape) for w in bank.weights] == [
        (12, 9), (9, 7), (7, 3), (3, 7), (7, 9), (9, 12)
    ]
    assert [tuple(b[4].shape) for b in bank.biases] == [(9,), (7,), (3,), (7,), (9,), (12,)]
    assert bank.encode(torch.randn(4, N_FEATURES)).shape == (4, 3, LATENT)


@pytest.mark.parametrize("activation", ["elu", "relu"])
def test_each_slot_matches_a_plain_sequential(activation):
    bank = make_bank(n_active=4, activation=activation)
    x = torch.randn(6, N_FEATURES)
    slots = torch.tensor([3, 1])  # unsorted on purpose
    reconstruction, codes = bank(x, slots)
    for column, slot in enumerate(slots.tolist()):
        encoder, decoder = as_sequential(bank, slot)
        torch.testing.assert_close(codes[:, column], encoder(x))
        torch.testing.assert_close(reconstruction[:, column], decoder(encoder(x)))


def test_init_like_nn_linear():
    bank = make_bank()
    bound = 1 / 12**0.5
    first = torch.stack(list(bank.weights[0]))
    assert first.abs().max() <= bound and first.abs().max() > 0.9 * bound
    assert not torch.equal(first[0], first[1])  # every slot is drawn on its own


def test_no_hidden_layers():
    bank = ExpertBank(5, hidden_dims=(), latent_dim=2, max_experts=2)
    bank.add_expert()
    reconstruction, codes = bank(torch.randn(3, 5))
    assert reconstruction.shape == (3, 1, 5) and codes.shape == (3, 1, 2)


def test_add_remove_and_reuse_slots():
    bank = make_bank(n_active=0)
    assert bank.n_active == 0 and bank.active_slots.tolist() == []
    assert [bank.add_expert() for _ in range(3)] == [0, 1, 2]
    bank.remove_expert(1)
    assert bank.active_slots.tolist() == [0, 2] and bank.n_active == 2
    assert bank.add_expert() == 1  # the lowest free slot is reused
    with pytest.raises(ValueError, match="not an active expert"):
        bank.remove_expert(4)


def test_inactive_slots_are_left_out_of_forward():
    bank = make_bank(n_active=4)
    bank.remove_expert(2)
    x = torch.randn(5, N_FEATURES)
    reconstruction, _ = bank(x)
    assert reconstruction.shape[1] == 3
    expected, _ = bank(x, torch.tensor([0, 1, 3]))
    torch.testing.assert_close(reconstruction, expected)


def test_empty_bank_forward_says_what_to_do():
    with pytest.raises(RuntimeError, match="add_expert"):
        make_bank(n_active=0)(torch.randn(2, N_FEATURES))


def test_full_bank_raises():
    bank = make_bank(n_active=2, max_experts=2)
    with pytest.raises(RuntimeError, match="raise max_experts"):
        bank.add_expert()


def test_copy_gives_identical_outputs_and_perturb_lets_them_diverge():
    bank = make_bank(n_active=2)
    x = torch.randn(5, N_FEATURES)
    child = bank.add_expert(source=1)
    assert all(torch.equal(a, b) for a, b in zip(bank.slot_parameters(1), bank.slot_parameters(child)))
    reconstruction, _ = bank(x, torch.tensor([1, child]))
    torch.testing.assert_close(reconstruction[:, 0], reconstruction[:, 1])

    bank.copy_expert(0, 1)
    reconstruction, _ = bank(x, torch.tensor([0, 1, 2]))
    torch.testing.assert_close(reconstruction[:, 0], reconstruction[:, 1])
    assert not torch.allclose(reconstruction[:, 0], reconstruction[:, 2])

    before, _ = bank(x)
    bank.perturb(child, 0.01, generator=torch.Generator().manual_seed(0))
    after, _ = bank(x)
    moved = (after - before).abs().amax(dim=(0, 2))  # (experts,)
    assert moved[child] > 0 and moved[child] < 0.05  # small noise, but the child does diverge
    assert moved[[0, 1]].max() == 0  # and nothing else moved


def test_add_expert_from_inactive_source_raises():
    bank = make_bank(n_active=1)
    with pytest.raises(ValueError, match="not an active expert"):
        bank.add_expert(source=3)


def test_gradients_reach_only_the_slots_used():
    bank = make_bank(n_active=4)
    x = torch.randn(5, N_FEATURES)
    reconstruction, _ = bank(x, torch.tensor([0, 2]))
    reconstruction_error(x, reconstruction).sum().backward()
    for slot in range(5):  # unused slots get no gradient at all, so optimizers skip them
        used = [param.grad is not None and param.grad.abs().sum() > 0 for param in bank.slot_parameters(slot)]
        assert all(used) if slot in (0, 2) else not any(used)


def test_load_autoencoder_from_a_bank_of_one():
    trunk = ExpertBank(N_FEATURES, HIDDEN, LATENT, max_experts=1)
    trunk.add_expert()
    bank = make_bank(n_active=3)
    for slot in bank.active_slots.tolist():
        bank.load_autoencoder(slot, trunk)
    x = torch.randn(5, N_FEATURES)
    expected, _ = trunk(x)
    reconstruction, _ = bank(x)
    torch.testing.assert_close(reconstruction, expected.expand(-1, 3, -1))

    with pytest.raises(ValueError, match="another shape"):
        bank.load_autoencoder(0, ExpertBank(N_FEATURES, (9,), LATENT, max_experts=1))


def test_state_dict_round_trip_keeps_active_mask():
    bank = make_bank(n_active=3)
    bank.remove_expert(0)
    other = ExpertBank(N_FEATURES, HIDDEN, LATENT, max_experts=5)
    other.load_state_dict(bank.state_dict())
    assert other.active_slots.tolist() == [1, 2]
    x = torch.randn(3, N_FEATURES)
    torch.testing.assert_close(other(x)[0], bank(x)[0])


def test_reset_optimizer_state_clears_only_given_slots():
    bank = make_bank(n_active=3)
    optimizer = torch.optim.Adam(bank.parameters(), lr=1e-3)
    x = torch.randn(5, N_FEATURES)
    reconstruction_error(x, bank(x)[0]).sum().backward()
    optimizer.step()
    bank.reset_optimizer_state(optimizer, [1])
    assert all(param not in optimizer.state for param in bank.slot_parameters(1))
    assert all(optimizer.state[param]["exp_avg"].abs().sum() > 0 for param in bank.slot_parameters(0))


def test_trunk_sized_bank_of_one():
    trunk = ExpertBank(64, hidden_dims=(500, 500, 2000), latent_dim=10, max_experts=1)
    trunk.add_expert()
    reconstruction, codes = trunk(torch.randn(2, 64))
    assert reconstruction.shape == (2, 1, 64) and codes.shape == (2, 1, 10)


@pytest.fixture
def one_thread():
    # small matmuls: one thread is faster, and two threads crawl when another process holds a core
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_bank_of_one_learns_digits(one_thread):
    torch.manual_seed(0)
    x = torch.as_tensor(load_digits().data / 16, dtype=torch.float32)
    autoencoder = ExpertBank(64, hidden_dims=(64,), latent_dim=10, max_experts=1)
    autoencoder.add_expert()
    optimizer = torch.optim.Adam(autoencoder.parameters(), lr=3e-3)

    def loss(batch):
        return reconstruction_error(batch, autoencoder(batch)[0]).mean()

    initial = loss(x).item()
    for _ in range(300):
        optimizer.zero_grad()
        loss(x[torch.randint(len(x), (128,))]).backward()
        optimizer.step()
    final = loss(x).item()
    # predicting the mean digit scores about 0.07; the trained autoencoder reaches about 0.019
    mean_image_error = (x - x.mean(0)).pow(2).mean().item()
    assert final < 0.5 * mean_image_error < initial


@pytest.mark.parametrize("hidden", [(), (9,), (9, 7)])
@pytest.mark.parametrize("activation", ["elu", "relu"])
def test_errors_without_reconstruction_match_the_forward_pass(hidden, activation, monkeypatch):
    monkeypatch.setattr(experts_module, "PLAIN_ERRORS_SIZE", 0)  # the Gram form, however small the call
    torch.manual_seed(1)
    bank = ExpertBank(N_FEATURES, hidden, LATENT, max_experts=5, activation=activation)
    for _ in range(4):
        bank.add_expert()
    x = 3 * torch.randn(50, N_FEATURES) + 1
    for slots in (None, torch.tensor([3, 0])):
        expected = reconstruction_error(x, bank(x, slots)[0])
        torch.testing.assert_close(bank.errors(x, slots), expected, rtol=1e-4, atol=1e-5)


def test_the_plain_and_gram_forms_give_the_same_errors_and_gradients(monkeypatch):
    # Training steps (small calls) take the plain forward pass, routing and predict the Gram form:
    # both must be the same function, with the same gradients.
    torch.manual_seed(3)
    bank = ExpertBank(N_FEATURES, (9,), LATENT, max_experts=4)
    for _ in range(3):
        bank.add_expert()
    x = 2 * torch.randn(40, N_FEATURES) + 1

    def errors_and_gradients():
        bank.zero_grad()
        errors = bank.errors(x)
        (errors * torch.linspace(0.5, 2.0, errors.shape[1])).sum().backward()
        return errors.detach(), torch.cat([p.grad.flatten() for p in bank.parameters() if p.grad is not None])

    plain = errors_and_gradients()
    monkeypatch.setattr(experts_module, "PLAIN_ERRORS_SIZE", 0)
    gram = errors_and_gradients()
    torch.testing.assert_close(gram[0], plain[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gram[1], plain[1], rtol=1e-3, atol=1e-5)
